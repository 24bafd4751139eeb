import type { JobState } from "../api/job-state.js";
import { RoutiluxError, StoreError } from "../core/errors.js";
import type { JobStatus } from "../state/job-snapshot.js";
import type { JobCommand } from "../state/journal.js";
import {
  DEFAULT_LEASE_MS,
  type ClaimRequest,
  type CommitBatch,
  type CommandRequest,
  type CommandState,
  type CommitResult,
  type FencedWrite,
  type HeldLease,
  type JobFilter,
  type JobPage,
  type JobStore,
  type StoredCommit,
  type StoredJob,
} from "./job-store.js";
import { checkFilter, checkMs, epochsByJob, fenceOf, lastSeqOf, leaseIsFree, loadStoredJob, pageOf, summaryOf } from "./store-common.js";
import { closeWriter } from "./store-writer.js";

/** What the store holds for one job: the row of a `jobs` table and its log. */
interface Row {
  /** Insertion order, for listing jobs of the same millisecond in the order stored. */
  order: number;
  flowId: string;
  status: JobStatus;
  createdAtMs: number;
  updatedAtMs: number;
  snapshot: StoredCommit;
  lastSeq: number;
  epoch: number;
  leaseOwner: string | null;
  leaseUntilMs: number | null;
  metadata: string;
  waitingFor: string | null;
  log: StoredCommit[];
}

function byAge(x: Row, y: Row): number {
  return x.createdAtMs - y.createdAtMs || x.order - y.order;
}

/**
 * A job store in this process's memory, with the same semantics as {@link SqliteJobStore}
 * (write-ahead log, snapshots, revisions, leases, fencing): for tests, and for moving jobs between
 * flows of one process. Nothing survives the process.
 *
 * @example
 * ```ts
 * const store = new MemoryJobStore();
 * const flow = new Flow({ flowId: "review", store });
 * const job = await flow.start("ingest");
 * await job.result();
 * const copy = await store.loadJob(job.jobId);
 * ```
 */
export class MemoryJobStore implements JobStore {
  readonly leaseMs: number;
  readonly #jobs = new Map<string, Row>();
  readonly #commands = new Map<number, { command: JobCommand; takenBy: string | null; state: CommandState["state"]; error?: string }>();
  #nextCommand = 1;
  #order = 0;
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

  listJobs(filter: JobFilter = {}): Promise<JobPage> {
    return this.#run("list jobs", () => {
      const f = checkFilter(filter, String(this));
      const rows = [...this.#jobs].filter(([, row]) => {
        if (f.flowId !== undefined && row.flowId !== f.flowId) return false;
        if (f.statuses !== undefined && !f.statuses.includes(row.status)) return false;
        const after = f.after;
        if (after !== undefined && (row.createdAtMs < after[0] || (row.createdAtMs === after[0] && row.order <= after[1]))) return false;
        if (f.metadata.length > 0) {
          const metadata = JSON.parse(row.metadata) as Record<string, unknown>;
          for (const [key, value] of f.metadata) if (!Object.hasOwn(metadata, key) || metadata[key] !== value) return false;
        }
        return true;
      }).sort(([, x], [, y]) => byAge(x, y));
      const limited = f.limit === undefined ? rows : rows.slice(0, f.limit + 1);
      return pageOf(limited, f.limit, ([jobId, row]) => summaryOf({
        jobId,
        flowId: row.flowId,
        status: row.status,
        createdAtMs: row.createdAtMs,
        updatedAtMs: row.updatedAtMs,
        metadata: row.metadata,
        revision: row.lastSeq,
        waitingFor: row.waitingFor,
      }), ([, row]) => [row.createdAtMs, row.order]);
    });
  }

  deleteJob(jobId: string): Promise<void> {
    return this.#run(`delete job '${jobId}'`, () => {
      this.#jobs.delete(jobId);
      for (const [id, entry] of this.#commands) if (entry.command.jobId === jobId) this.#commands.delete(id);
    });
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
      const fenced: FencedWrite[] = [];
      const epochs = epochsByJob();
      for (const write of batch.jobs) {
        const existing = this.#jobs.get(write.jobId);
        const why = fenceOf(existing, write, batch);
        if (why !== undefined) {
          fenced.push(why);
          continue;
        }
        const last = lastSeqOf(write);
        if (last === undefined) continue;
        let row = existing;
        const epoch = write.acquire === true ? (row?.epoch ?? 0) + 1 : write.epoch;
        if (write.acquire === true) epochs[write.jobId] = epoch;
        const snapshot = write.snapshot;
        if (row === undefined) {
          row = {
            order: this.#order++,
            flowId: write.flowId,
            status: write.status,
            createdAtMs: write.createdAtMs,
            updatedAtMs: write.updatedAtMs,
            snapshot: { seq: snapshot!.seq, data: snapshot!.data },
            lastSeq: last,
            epoch,
            leaseOwner: null,
            leaseUntilMs: null,
            metadata: "{}",
            waitingFor: null,
            log: [],
          };
          this.#jobs.set(write.jobId, row);
        } else if (snapshot !== undefined) {
          row.snapshot = { seq: snapshot.seq, data: snapshot.data };
          row.log = [];
        }
        const running = write.status === "running";
        row.flowId = write.flowId;
        row.status = write.status;
        row.updatedAtMs = write.updatedAtMs;
        row.lastSeq = last;
        row.epoch = epoch;
        row.leaseOwner = running ? batch.owner : null;
        row.leaseUntilMs = running ? batch.leaseUntilMs : null;
        if (write.metadata !== undefined) row.metadata = write.metadata;
        row.waitingFor = write.waitingFor ?? null;
        for (const commit of write.commits) row.log.push({ seq: commit.seq, data: commit.data });
      }
      return { fenced, epochs };
    });
  }

  readJob(jobId: string): Promise<StoredJob | undefined> {
    return this.#run(`read job '${jobId}'`, () => this.#read(jobId));
  }

  claimJobs(request: ClaimRequest): Promise<StoredJob[]> {
    return this.#run(`claim the jobs of flow '${request.flowId}'`, () => {
      const claimed: StoredJob[] = [];
      const rows = [...this.#jobs].filter(([, row]) => row.flowId === request.flowId &&
        (row.status === "running" || (request.includePaused === true && row.status === "paused"))).sort(([, x], [, y]) => byAge(x, y));
      let room = request.limit ?? Infinity;
      for (const [jobId, row] of rows) {
        if (request.exclude?.has(jobId) === true) continue;
        if (row.status === "running") {
          if (room <= 0 || !leaseIsFree(row.leaseOwner, row.leaseUntilMs, request)) continue;
          room--;
          row.leaseOwner = request.owner;
          row.leaseUntilMs = request.leaseUntilMs;
          row.epoch++;
        }
        claimed.push(this.#read(jobId)!);
      }
      return claimed;
    });
  }

  renewLeases(owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]): Promise<string[]> {
    return this.#run("renew leases", () => {
      const gone: string[] = [];
      for (const { jobId, epoch } of jobs) {
        const row = this.#jobs.get(jobId);
        if (row === undefined || row.epoch !== epoch || row.leaseOwner !== owner || row.status !== "running") gone.push(jobId);
        else row.leaseUntilMs = leaseUntilMs;
      }
      return gone;
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

  sendCommand(request: CommandRequest): Promise<number> {
    return this.#run("send a command", () => {
      const id = this.#nextCommand++;
      this.#commands.set(id, { command: { id, jobId: request.jobId, kind: request.kind, args: structuredClone(request.args) }, takenBy: null, state: "waiting" });
      return id;
    });
  }

  takeCommands(owner: string, jobIds: readonly string[]): Promise<JobCommand[]> {
    return this.#run("take commands", () => {
      const wanted = new Set(jobIds);
      const taken: JobCommand[] = [];
      for (const entry of this.#commands.values()) {
        if (entry.state !== "waiting" || !wanted.has(entry.command.jobId)) continue;
        entry.state = "taken";
        entry.takenBy = owner;
        taken.push(entry.command);
      }
      return taken;
    });
  }

  finishCommand(id: number, outcome: { ok: boolean; error?: string }): Promise<void> {
    return this.#run("finish a command", () => {
      const entry = this.#commands.get(id);
      if (entry === undefined) return;
      entry.state = outcome.ok ? "done" : "failed";
      if (outcome.error !== undefined) entry.error = outcome.error;
    });
  }

  readCommand(id: number): Promise<CommandState | undefined> {
    return this.#run("read a command", () => {
      const entry = this.#commands.get(id);
      if (entry === undefined) return undefined;
      return entry.error === undefined ? { state: entry.state } : { state: entry.state, error: entry.error };
    });
  }

  withdrawCommand(id: number): Promise<boolean> {
    return this.#run("withdraw a command", () => {
      const entry = this.#commands.get(id);
      if (entry?.state !== "waiting") return false;
      this.#commands.delete(id);
      return true;
    });
  }

  // ---------------------------------------------------------------- internals

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
      epoch: row.epoch,
      leaseOwner: row.leaseOwner,
      leaseUntilMs: row.leaseUntilMs,
    };
  }

  #run<T>(operation: string, fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError(`${String(this)} is closed; cannot ${operation}`));
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof RoutiluxError ? error : new StoreError(`${String(this)} failed to ${operation}`, { cause: error }));
    }
  }
}
