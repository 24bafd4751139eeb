import { JobStateError, StoreError, describeError } from "../core/errors.js";
import type { JobRun, TaskContext } from "../runtime/job-run.js";
import type { Journal } from "../runtime/journal.js";
import type { JobStatus } from "../state/job-snapshot.js";
import { kJobData, type JobState } from "../state/job-state.js";
import type { PendingTask } from "../state/task.js";
import { TERMINAL_STATUSES, type JobStore, type JobWrite } from "./job-store.js";
import { JobTracker, type TrackedCommit } from "./job-tracker.js";
import { newOwnerId } from "./lease.js";

/** A batch is written at once when it holds this many commits or bytes, not at the next turn. */
const BATCH_MAX_COMMITS = 2048;
const BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** A failed group commit is tried again after this long (or at the next flush). */
const RETRY_MS = 100;
const NO_TASKS: readonly PendingTask[] = [];

/** One job's part of a batch being gathered. */
interface PendingWrite {
  jobId: string;
  flowId: string;
  status: JobStatus;
  createdAtMs: number;
  updatedAtMs: number;
  snapshot: TrackedCommit | undefined;
  commits: TrackedCommit[];
  tracker: JobTracker;
}

/** The commits gathered for one transaction, per job in order; a snapshot supersedes what came before it. */
class Batch {
  readonly jobs = new Map<string, PendingWrite>();
  commits = 0;
  bytes = 0;

  get empty(): boolean {
    return this.jobs.size === 0;
  }

  add(tracker: JobTracker, commit: TrackedCommit): void {
    const job = tracker.job;
    const data = tracker.data;
    let write = this.jobs.get(job.jobId);
    if (write === undefined) {
      write = {
        jobId: job.jobId,
        flowId: job.flowId,
        status: job.status,
        createdAtMs: data.createdAtMs,
        updatedAtMs: data.updatedAtMs,
        snapshot: undefined,
        commits: [],
        tracker,
      };
      this.jobs.set(job.jobId, write);
    } else {
      write.flowId = job.flowId;
      write.status = job.status;
      write.createdAtMs = data.createdAtMs;
      write.updatedAtMs = data.updatedAtMs;
      write.tracker = tracker;
    }
    if (commit.snapshot) {
      write.snapshot = commit;
      write.commits = [];
    } else {
      write.commits.push(commit);
    }
    this.commits++;
    this.bytes += commit.data.length;
  }

  /** Puts `later` after this batch (a failed batch is retried before anything newer). */
  append(later: Batch): void {
    for (const [jobId, next] of later.jobs) {
      const write = this.jobs.get(jobId);
      if (write === undefined) {
        this.jobs.set(jobId, next);
        continue;
      }
      if (next.snapshot !== undefined) {
        write.snapshot = next.snapshot;
        write.commits = next.commits;
      } else {
        write.commits.push(...next.commits);
      }
      write.flowId = next.flowId;
      write.status = next.status;
      write.createdAtMs = next.createdAtMs;
      write.updatedAtMs = next.updatedAtMs;
      write.tracker = next.tracker;
    }
    this.commits += later.commits;
    this.bytes += later.bytes;
  }

  /** The jobs' parts, their deltas encoded now; a job whose state JSON cannot hold is left out and passed to `lose`. */
  writes(lose: (tracker: JobTracker, error: unknown) => void): JobWrite[] {
    const out: JobWrite[] = [];
    for (const w of this.jobs.values()) {
      try {
        for (const commit of w.commits) void commit.data;
      } catch (error) {
        this.jobs.delete(w.jobId);
        lose(w.tracker, error);
        continue;
      }
      out.push({
        jobId: w.jobId,
        flowId: w.flowId,
        status: w.status,
        createdAtMs: w.createdAtMs,
        updatedAtMs: w.updatedAtMs,
        snapshot: w.snapshot,
        dropsLog: w.tracker.mayHaveLog,
        commits: w.commits,
      });
      if (w.commits.length > 0) w.tracker.mayHaveLog = true;
    }
    return out;
  }
}

/** Whether a job runs in this process now: attached to an engine that is not shut down. */
function runsHere(job: JobState): boolean {
  const run = job[kJobData].run as JobRun | undefined;
  return job.status === "running" && run !== undefined && !run.engine.closed;
}

const writers = new WeakMap<JobStore, StoreWriter>();

/** The one writer of a store in this process, shared by every flow that uses the store. @internal */
export function writerFor(store: JobStore): StoreWriter {
  let writer = writers.get(store);
  if (writer === undefined) {
    writer = new StoreWriter(store);
    writers.set(store, writer);
  }
  return writer;
}

/**
 * Waits for the commits this process has handed to the store's writer so far (without reporting
 * their failures: a reader then sees what is durable). @internal
 */
export async function settleWrites(store: JobStore): Promise<void> {
  await writers.get(store)?.settle().catch(() => undefined);
}

/**
 * Writes what the store's writer still buffers and releases its leases: a store calls this first
 * in `close()`. The writer stays closed: a flow that uses the store afterwards cannot run jobs.
 * @internal
 */
export async function closeWriter(store: JobStore): Promise<void> {
  await writerFor(store).close();
}

/**
 * The journal of every flow that uses one store, in this process: it tracks each attached job's
 * changes, turns each settled task and each job-level change into one commit, and writes the
 * commits of many tasks and jobs in one transaction (group commit) at the next turn of the event
 * loop, or at once when a caller waits on {@link StoreWriter.flush}. It also holds this process's
 * leases on its running jobs, renewing them at a third of the store's `leaseMs`.
 *
 * Recorded state is exactly-once: what a task changed is written in its commit or not at all.
 * A handler running when the process dies runs again after `recover()`, so its effects outside
 * the job (an HTTP call, an email) are at-least-once: make them idempotent.
 * @internal
 */
export class StoreWriter implements Journal {
  readonly store: JobStore;
  /** This process's lease owner id for the store. */
  readonly owner = newOwnerId();
  #batch = new Batch();
  #scheduled = false;
  /** The last write started: later writes wait for it, so commits reach the store in order. */
  #last: Promise<void> = Promise.resolve();
  /** A failure to report on the next flush (a job that can no longer be persisted). */
  #error: StoreError | undefined;
  /** Jobs whose last commit here said "running", by id. */
  readonly #running = new Map<string, JobTracker>();
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onImmediate = (): void => {
    this.#scheduled = false;
    this.#startWrite().catch(() => undefined);
  };

  constructor(store: JobStore) {
    this.store = store;
  }

  // ---------------------------------------------------------------- Journal

  attach(job: JobState): void {
    if (this.#closed) throw new StoreError(`${String(this.store)} is closed; a flow that uses it cannot run jobs`);
    const other = this.#running.get(job.jobId);
    if (other !== undefined && other.job !== job) {
      if (runsHere(other.job)) {
        throw new JobStateError(
          `Job '${job.jobId}' is already running in this process as another JobState object; run one copy only ` +
          "(pause or cancel the other first)",
        );
      }
      // The other copy is stopped here; this one takes over, and the other commits nothing more.
      this.#running.delete(job.jobId);
      if (other.data.tracker === other) other.data.tracker = undefined;
    }
    const data = job[kJobData];
    data.tracker = new JobTracker(job, this);
    this.#startRenewal();
  }

  taskSettled(job: JobState, ctx: TaskContext, added: readonly PendingTask[]): void {
    const tracker = this.#trackerOf(job);
    if (tracker !== undefined) this.#commit(tracker, ctx.task, added, false);
  }

  jobChanged(job: JobState): void {
    const tracker = this.#trackerOf(job);
    if (tracker !== undefined) this.#commit(tracker, undefined, NO_TASKS, true);
  }

  /** Resolves once every commit handed over so far is written; rejects with a StoreError if one could not be. */
  flush(): Promise<void> {
    const error = this.#error;
    this.#error = undefined;
    const done = this.#startWrite();
    return error === undefined ? done : done.then(() => Promise.reject(error));
  }

  /** Like {@link StoreWriter.flush}, but leaves failures to report to the next flush. */
  settle(): Promise<void> {
    return this.#startWrite();
  }

  /** Starts writing the gathered batch after the writes before it; resolves when all are written. */
  #startWrite(): Promise<void> {
    if (!this.#batch.empty) this.#last = this.#last.then(() => this.#write(), () => this.#write());
    return this.#last;
  }

  // ---------------------------------------------------------------- recovery and closing

  /** Ids of the jobs running in this process: `recover()` never claims them. */
  runningJobIds(): Set<string> {
    const ids = new Set<string>();
    for (const [jobId, tracker] of this.#running) if (runsHere(tracker.job)) ids.add(jobId);
    return ids;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#renewTimer !== undefined) clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    try {
      await this.flush();
    } finally {
      await this.store.releaseLeases(this.owner).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- commits

  #trackerOf(job: JobState): JobTracker | undefined {
    const tracker = job[kJobData].tracker;
    return tracker instanceof JobTracker && tracker.journal === this ? tracker : undefined;
  }

  #commit(tracker: JobTracker, consumed: PendingTask | undefined, added: readonly PendingTask[], jobLevel: boolean): void {
    let commit: TrackedCommit;
    try {
      commit = tracker.commit(consumed, added, jobLevel);
    } catch (error) {
      this.#lose(tracker, error);
      return;
    }
    const batch = this.#batch;
    batch.add(tracker, commit);
    const job = tracker.job;
    const status = job.status;
    if (status === "running") this.#running.set(job.jobId, tracker);
    else if (this.#running.get(job.jobId) === tracker) this.#running.delete(job.jobId);
    // An ended job changes no more: stop tracking it (a failing task settles after its job failed).
    if (TERMINAL_STATUSES.has(status)) tracker.data.tracker = undefined;
    if (batch.commits >= BATCH_MAX_COMMITS || batch.bytes >= BATCH_MAX_BYTES) {
      this.#startWrite().catch(() => undefined);
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onImmediate);
    }
  }

  async #write(): Promise<void> {
    const batch = this.#batch;
    if (batch.empty) return;
    this.#batch = new Batch();
    const nowMs = Date.now();
    let fenced: readonly string[];
    try {
      const jobs = batch.writes((tracker, error) => this.#lose(tracker, error));
      ({ fenced } = await this.store.commit({ owner: this.owner, nowMs, leaseUntilMs: nowMs + this.store.leaseMs, jobs }));
    } catch (error) {
      // Kept, to be written before anything newer: by the next flush, or by a retry soon.
      batch.append(this.#batch);
      this.#batch = batch;
      this.#scheduleRetry();
      throw error instanceof StoreError
        ? error
        : new StoreError(`${String(this.store)} could not write a group commit: ${describeError(error).message}`, { cause: error });
    }
    for (const jobId of fenced) {
      const tracker = batch.jobs.get(jobId)?.tracker;
      if (tracker === undefined) continue;
      this.#lose(tracker, new StoreError(
        `Job '${jobId}' is leased to another process, has ended there, or was deleted from ${String(this.store)}; ` +
        "this process no longer persists it",
      ));
    }
  }

  /** Stops persisting a job: its history records why, and the next flush reports it. */
  #lose(tracker: JobTracker, error: unknown): void {
    const job = tracker.job;
    const data = tracker.data;
    if (data.tracker === tracker) data.tracker = undefined;
    if (this.#running.get(job.jobId) === tracker) this.#running.delete(job.jobId);
    const message = describeError(error).message;
    job.pushRecord(job.flowId, "store_error", { error: message }, data.clock.now());
    this.#error = error instanceof StoreError ? error : new StoreError(message, { cause: error });
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#startWrite().catch(() => undefined);
    }, RETRY_MS);
    this.#retryTimer.unref();
  }

  #startRenewal(): void {
    if (this.#renewTimer !== undefined || this.#closed) return;
    const leaseMs = this.store.leaseMs;
    this.#renewTimer = setInterval(() => {
      if (this.#running.size === 0) return;
      this.store.renewLeases(this.owner, Date.now() + leaseMs).catch(() => undefined);
    }, Math.max(10, Math.floor(leaseMs / 3)));
    this.#renewTimer.unref();
  }
}
