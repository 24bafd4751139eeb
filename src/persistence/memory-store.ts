import { StoreError } from "../core/errors.js";
import type { JobStatus } from "../state/job-snapshot.js";
import type { JobState } from "../state/job-state.js";
import {
  DEFAULT_LEASE_MS,
  TERMINAL_STATUSES,
  type ClaimRequest,
  type CommitBatch,
  type CommitResult,
  type JobFilter,
  type JobStore,
  type JobSummary,
  type JobWrite,
  type StoredCommit,
  type StoredJob,
} from "./job-store.js";
import { checkMs, lastSeqOf, leaseIsFree, loadStoredJob } from "./store-common.js";
import { closeWriter } from "./store-writer.js";

/** What the store holds for one job: the row of a `jobs` table and its log. */
interface Row {
  flowId: string;
  status: JobStatus;
  createdAtMs: number;
  updatedAtMs: number;
  snapshot: StoredCommit;
  lastSeq: number;
  leaseOwner: string | null;
  leaseUntilMs: number | null;
  log: StoredCommit[];
}

/** Orders rows by creation time; the sort is stable, so jobs of the same millisecond keep the order they were stored in. */
function oldestFirst([, x]: [string, Row], [, y]: [string, Row]): number {
  return x.createdAtMs - y.createdAtMs;
}

/**
 * A job store in this process's memory, with the same semantics as {@link SqliteJobStore}
 * (write-ahead log, snapshots, leases, fencing): for tests, and for moving jobs between flows of
 * one process. Nothing survives the process.
 *
 * @example
 * ```ts
 * const store = new MemoryJobStore();
 * const flow = new Flow({ flowId: "review", store });
 * const job = flow.execute("ingest");
 * await JobState.waitForCompletion(flow, job);
 * const copy = await store.loadJob(job.jobId);
 * ```
 */
export class MemoryJobStore implements JobStore {
  readonly leaseMs: number;
  readonly #jobs = new Map<string, Row>();
  #closed = false;

  /** @param options - `leaseMs`: how long a lease on a running job lasts without renewal (default 15,000) */
  constructor(options: { leaseMs?: number } = {}) {
    this.leaseMs = checkMs(options.leaseMs, "leaseMs", DEFAULT_LEASE_MS);
  }

  toString(): string {
    return "memory job store";
  }

  // ---------------------------------------------------------------- user methods

  loadJob(jobId: string): Promise<JobState | undefined> {
    return loadStoredJob(this, jobId);
  }

  listJobs(filter: JobFilter = {}): Promise<JobSummary[]> {
    return this.#run("list jobs", () => {
      const rows = [...this.#jobs].filter(([, row]) => (filter.flowId === undefined || row.flowId === filter.flowId) &&
        (filter.status === undefined || row.status === filter.status));
      return rows.sort(oldestFirst).map(([jobId, row]) => ({
        jobId,
        flowId: row.flowId,
        status: row.status,
        createdAt: new Date(row.createdAtMs),
        updatedAt: new Date(row.updatedAtMs),
      }));
    });
  }

  deleteJob(jobId: string): Promise<void> {
    return this.#run(`delete job '${jobId}'`, () => void this.#jobs.delete(jobId));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await closeWriter(this);
    } finally {
      this.#closed = true;
    }
  }

  // ---------------------------------------------------------------- engine methods

  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.#run("write a group commit", () => {
      const fenced: string[] = [];
      for (const write of batch.jobs) if (!this.#write(batch, write)) fenced.push(write.jobId);
      return { fenced };
    });
  }

  readJob(jobId: string): Promise<StoredJob | undefined> {
    return this.#run(`read job '${jobId}'`, () => this.#read(jobId));
  }

  claimJobs(request: ClaimRequest): Promise<StoredJob[]> {
    return this.#run(`claim the running jobs of flow '${request.flowId}'`, () => {
      const claimed: StoredJob[] = [];
      const rows = [...this.#jobs].filter(([, row]) => row.flowId === request.flowId && row.status === "running").sort(oldestFirst);
      for (const [jobId, row] of rows) {
        if (request.exclude?.has(jobId) === true) continue;
        if (!leaseIsFree(row.leaseOwner, row.leaseUntilMs, request)) continue;
        row.leaseOwner = request.owner;
        row.leaseUntilMs = request.leaseUntilMs;
        claimed.push(this.#read(jobId)!);
      }
      return claimed;
    });
  }

  renewLeases(owner: string, leaseUntilMs: number): Promise<void> {
    return this.#run("renew leases", () => {
      for (const row of this.#jobs.values()) if (row.leaseOwner === owner && row.status === "running") row.leaseUntilMs = leaseUntilMs;
    });
  }

  releaseLeases(owner: string, jobIds?: readonly string[]): Promise<void> {
    return this.#run("release leases", () => {
      const only = jobIds === undefined ? undefined : new Set(jobIds);
      for (const [jobId, row] of this.#jobs) {
        if (row.leaseOwner !== owner || (only !== undefined && !only.has(jobId))) continue;
        row.leaseOwner = null;
        row.leaseUntilMs = null;
      }
    });
  }

  // ---------------------------------------------------------------- internals

  /** One job's part of a group commit; false when it is fenced off (see CommitBatch). */
  #write(batch: CommitBatch, write: JobWrite): boolean {
    const commits = write.commits;
    const snapshot = write.snapshot;
    const last = lastSeqOf(write);
    if (last === undefined) return true;
    let row = this.#jobs.get(write.jobId);
    if (row !== undefined) {
      const leased = row.leaseOwner !== null && row.leaseOwner !== batch.owner && (row.leaseUntilMs ?? 0) >= batch.nowMs;
      if (TERMINAL_STATUSES.has(row.status) || leased) return false;
      if (snapshot === undefined && row.lastSeq !== commits[0]!.seq - 1) return false;
    } else if (snapshot === undefined) {
      return false;
    }
    const running = write.status === "running";
    if (row === undefined || snapshot !== undefined) {
      row = {
        flowId: write.flowId,
        status: write.status,
        createdAtMs: write.createdAtMs,
        updatedAtMs: write.updatedAtMs,
        snapshot: { seq: snapshot!.seq, data: snapshot!.data },
        lastSeq: last,
        leaseOwner: null,
        leaseUntilMs: null,
        log: [],
      };
      this.#jobs.set(write.jobId, row);
    }
    row.flowId = write.flowId;
    row.status = write.status;
    row.updatedAtMs = write.updatedAtMs;
    row.lastSeq = last;
    row.leaseOwner = running ? batch.owner : null;
    row.leaseUntilMs = running ? batch.leaseUntilMs : null;
    for (const commit of commits) row.log.push({ seq: commit.seq, data: commit.data });
    return true;
  }

  #read(jobId: string): StoredJob | undefined {
    const row = this.#jobs.get(jobId);
    if (row === undefined) return undefined;
    return {
      jobId,
      flowId: row.flowId,
      status: row.status,
      snapshot: row.snapshot.data,
      snapshotSeq: row.snapshot.seq,
      commits: row.log.map((c) => ({ seq: c.seq, data: c.data })),
    };
  }

  #run<T>(operation: string, fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError(`${String(this)} is closed; cannot ${operation}`));
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof StoreError ? error : new StoreError(`${String(this)} failed to ${operation}`, { cause: error }));
    }
  }
}
