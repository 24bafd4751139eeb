import { outsideContext } from "../core/context.js";
import { JobStateError, StoreError } from "../core/errors.js";
import { kJobData } from "../state/job-data.js";
import type { JobStateCore } from "../state/job-state.js";
import type { AttachMode, JobJournal, JobOwner } from "../state/journal.js";
import type { PendingTask } from "../state/task.js";
import type { LooseChanges, WriteSet } from "../state/write-set.js";
import { baseCommit, buildDelta } from "./commit-format.js";
import { Batch, GroupCommit, staleCopy } from "./group-commit.js";
import { JobLog, TrackedCommit } from "./job-log.js";
import { TERMINAL_STATUSES, type JobStore } from "./job-store.js";
import { newOwnerId } from "./lease.js";
import { LeaseKeeper } from "./lease-keeper.js";

/** A batch is written at once when it holds this many commits, not at the next turn. */
const BATCH_MAX_COMMITS = 2048;
const NO_TASKS: readonly PendingTask[] = [];

/**
 * Whether a job's changes outside activations wait for the commit of one of its own handlers: that
 * handler paused the job, and the pause is stored with its work, never before it (meanwhile the
 * store holds the job as running, under this process's lease). Only while the job stays paused and
 * is not being taken again: once it is resumed (a resume takes the job again: its base commit must
 * be written before it runs on) or ended, nothing is withheld, so a control call awaited by that
 * same handler is never left waiting for the handler itself.
 */
function withheld(log: JobLog): boolean {
  return log.data.holds > 0 && log.job.status === "paused" && !log.acquire;
}

/** Whether a job runs in this process now (attached to a live run that is not let go). */
function runsHere(job: JobStateCore): boolean {
  const run = job[kJobData].run as { detached?: boolean } | undefined;
  return job.status === "running" && run !== undefined && run.detached !== true;
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

/** Waits for what this process has handed to the store's writer so far (a reader then sees it). @internal */
export async function settleWrites(store: JobStore): Promise<void> {
  await writers.get(store)?.flush();
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
 * The journal of every flow that uses one store, in this process. It turns each settled
 * activation and each batch of changes made outside activations into one commit, and gathers the
 * commits of many tasks and jobs into one batch, written as one transaction (group commit) at the
 * next turn of the event loop, a job's base commit included. Its {@link GroupCommit} writes the batches in
 * order: a job is written only under the fencing epoch this process got when it took the job (a
 * new job, a resume, a recovery), and only on top of the revision the store holds, so a stale copy
 * or a process that lost the job can never write it; a failing commit is retried, and a lasting
 * failure loses the batch's jobs (their waiters are told the StoreError) while the store keeps
 * their last committed state, which `recover()` carries on. Its {@link LeaseKeeper} renews this
 * process's leases and stops a job at once when its lease is found taken.
 * @internal
 */
export class StoreWriter implements JobJournal {
  readonly store: JobStore;
  /** This process's lease owner id for the store. */
  readonly owner = newOwnerId();
  readonly #logs = new Map<string, JobLog>();
  /** Jobs with changes outside activations not yet built into a commit, or needing their base. */
  readonly #dirty = new Set<JobLog>();
  /** Epochs and lease ends of jobs just claimed by `recover()`, for their attach. */
  readonly #claimed = new Map<string, { epoch: number; leaseUntilMs: number }>();
  #batch = new Batch();
  /** The group commit due at the next turn of the event loop, if any. */
  #immediate: ReturnType<typeof setImmediate> | undefined;
  readonly #commits: GroupCommit;
  readonly #leases: LeaseKeeper;
  #closed = false;
  readonly #onImmediate = (): void => {
    this.#immediate = undefined;
    void this.#startWrite();
  };

  constructor(store: JobStore) {
    this.store = store;
    const lose = (log: JobLog, error: Error): void => this.#lose(log, error);
    this.#commits = new GroupCommit({ store, owner: this.owner, closed: () => this.#closed, lose, ended: (log) => this.#ended(log) });
    this.#leases = new LeaseKeeper({ store, owner: this.owner, logs: this.#logs, lose });
  }

  // ---------------------------------------------------------------- JobJournal

  attach(job: JobStateCore, mode: AttachMode, owner: JobOwner): Promise<void> {
    if (this.#closed) throw new StoreError(`${String(this.store)} is closed; a flow that uses it cannot run jobs`);
    const data = job[kJobData];
    const jobId = job.jobId;
    let log = this.#logs.get(jobId);
    if (log !== undefined && log.job !== job) {
      if (runsHere(log.job)) {
        throw new JobStateError(
          `Job '${jobId}' is already running in this process as another JobState object; run one copy only (pause or cancel the other first)`,
        );
      }
      if (log.seq > data.revision) throw staleCopy(jobId, data.revision, log.seq, String(this.store));
      this.#drop(log);
      log = undefined;
    }
    // Until the store confirms a lease (the claim, or the first write), none is counted on.
    data.leaseUntil = 0;
    if (mode === "recover") {
      const claim = this.#claimed.get(jobId);
      log = new JobLog(job, claim?.epoch ?? 0);
      log.leased(claim?.leaseUntilMs ?? 0);
      this.#claimed.delete(jobId);
    } else {
      log ??= new JobLog(job, 0);
      log.acquire = true;
      log.previousSeq = mode === "start" ? 0 : data.revision;
      log.needsBase = true;
      log.mayHaveLog = mode !== "start";
      log.lost = undefined;
      this.#dirty.add(log);
    }
    log.owner = owner;
    this.#logs.set(jobId, log);
    data.journal = this;
    data.loose = undefined;
    data.final = false;
    this.#leases.start();
    if (mode === "recover") return Promise.resolve();
    this.#schedule();
    const attached = log;
    return new Promise((resolve, reject) => attached.attachWaiters.push({ resolve, reject }));
  }

  taskSettled(
    job: JobStateCore,
    consumed: PendingTask,
    writes: WriteSet | undefined,
    added: readonly PendingTask[],
    earlier: LooseChanges | undefined,
  ): void {
    const log = this.#logOf(job);
    if (log === undefined) return;
    this.#dirty.delete(log);
    this.#build(log, consumed, writes, added, earlier);
    if (this.#batch.commits >= BATCH_MAX_COMMITS) void this.#startWrite();
    else this.#schedule();
  }

  jobChanged(job: JobStateCore): void {
    const log = this.#logOf(job);
    if (log === undefined) return;
    this.#dirty.add(log);
    this.#schedule();
  }

  confirmLease(job: JobStateCore): Promise<void> {
    const log = this.#logOf(job);
    if (log === undefined) return Promise.reject(job[kJobData].lost ?? new StoreError(`Job '${job.jobId}' is no longer persisted by this process`));
    const confirmed = new Promise<void>((resolve, reject) => (log.leaseWaiters ??= []).push({ resolve, reject }));
    void this.#leases.renew();
    return confirmed;
  }

  flush(job?: JobStateCore): Promise<void> {
    if (job === undefined) return this.#startWrite();
    const lost = job[kJobData].lost;
    const log = this.#logs.get(job.jobId);
    if (log === undefined || log.job !== job) return lost === undefined ? Promise.resolve() : Promise.reject(lost);
    void this.#startWrite();
    return log.waitDurable();
  }

  async release(holder: object): Promise<void> {
    await this.flush();
    const ids: string[] = [];
    for (const [jobId, log] of [...this.#logs]) {
      if (log.owner?.holder !== holder) continue;
      // A failed commit is retried as ever before the lease goes; a lasting failure loses the job.
      if (!(await log.waitDurable().then(() => true, () => false)) || this.#logs.get(jobId) !== log) continue;
      ids.push(jobId);
      this.#drop(log);
    }
    if (ids.length > 0) await this.store.releaseLeases(this.owner, ids);
  }

  async handBack(job: JobStateCore): Promise<void> {
    const log = this.#logs.get(job.jobId);
    if (log === undefined || log.job !== job) {
      const lost = job[kJobData].lost;
      if (lost !== undefined) throw lost;
      return;
    }
    // No control request is taken for it any more: a sender then finds it unheld.
    log.handingBack = true;
    void this.#startWrite();
    await log.waitDurable();
    if (this.#logs.get(job.jobId) !== log) return;
    this.#drop(log);
    await this.store.releaseLeases(this.owner, [job.jobId]);
  }

  // ---------------------------------------------------------------- recovery and closing

  /** Ids of the jobs this process persists (running or paused here): `recover()` never claims them. */
  heldJobIds(): Set<string> {
    return new Set(this.#logs.keys());
  }

  /** Notes the epoch a claim gave a job and the end of its lease, for its attach. */
  claimed(jobId: string, epoch: number, leaseUntilMs: number): void {
    this.#claimed.set(jobId, { epoch, leaseUntilMs });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#leases.stop();
    try {
      // A retry waiting for its backoff is not cut short: once closed, its next failure is lasting.
      await this.#startWrite();
    } finally {
      await this.store.releaseLeases(this.owner).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- commits

  #logOf(job: JobStateCore): JobLog | undefined {
    const log = this.#logs.get(job.jobId);
    if (log === undefined || log.job !== job || log.lost !== undefined || log.closed) return undefined;
    return job[kJobData].journal === this ? log : undefined;
  }

  /** Builds the job's next commit: its base, a snapshot, or a delta of its loose changes and an activation. */
  #build(
    log: JobLog,
    consumed: PendingTask | undefined,
    writes: WriteSet | undefined,
    added: readonly PendingTask[],
    earlier?: LooseChanges,
  ): void {
    const job = log.job;
    const data = log.data;
    const now = data.clock.now();
    let commit: TrackedCommit;
    const acquire = log.needsBase && log.acquire;
    const previousSeq = acquire ? log.previousSeq : log.seq;
    if (log.wantsSnapshot(now)) {
      job.takeLoose();
      const text = JSON.stringify(baseCommit(job));
      log.needsBase = false;
      log.snapshotted(text.length, now);
      log.pausePoints = job.pausePoints.length;
      commit = new TrackedCommit(log, ++log.seq, text);
    } else {
      const later = job.takeLoose();
      if (earlier === undefined && later === undefined && consumed === undefined && added.length === 0) return;
      const delta = buildDelta(job, { earlier, writes, later, consumed, added, pausePoints: log.pausePoints });
      if (earlier?.job === true || later?.job === true) log.pausePoints = job.pausePoints.length;
      commit = new TrackedCommit(log, ++log.seq, undefined, delta);
      log.unencoded++;
    }
    data.revision = log.seq;
    this.#batch.add(log, commit, acquire, previousSeq);
    // An ended job changes no more: its stored state is final (the journal stays until it is written).
    if (TERMINAL_STATUSES.has(job.status)) {
      data.final = true;
      log.closed = true;
    }
  }

  /** A group commit at the next turn of the event loop, with whatever settles until then. */
  #schedule(): void {
    if (this.#immediate === undefined) this.#immediate = outsideContext(() => setImmediate(this.#onImmediate));
  }


  /** Builds the commits of dirty jobs, then starts writing the batch after the writes before it; resolves when all are done. */
  #startWrite(): Promise<void> {
    for (const log of this.#dirty) {
      if (withheld(log)) continue;
      this.#dirty.delete(log);
      if (log.lost === undefined && this.#logs.get(log.job.jobId) === log) this.#build(log, undefined, undefined, NO_TASKS);
      if (this.#batch.commits >= BATCH_MAX_COMMITS) this.#seal();
    }
    this.#seal();
    // Everything gathered is on its way: a group commit due at the next turn would find nothing.
    if (this.#immediate !== undefined && this.#dirty.size === 0) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
    return this.#commits.settled;
  }

  /** Queues the gathered batch for writing after the writes before it. */
  #seal(): void {
    if (this.#batch.jobs.size === 0) return;
    const batch = this.#batch;
    this.#batch = new Batch();
    this.#commits.queue(batch);
  }

  /** The job is lost to this process: nothing more of it is written; its waiters and its engine learn why. */
  #lose(log: JobLog, error: Error): void {
    if (log.lost !== undefined) return;
    log.lost = error;
    this.#dirty.delete(log);
    if (this.#logs.get(log.job.jobId) === log) this.#logs.delete(log.job.jobId);
    const data = log.data;
    if (data.journal === this) data.journal = undefined;
    log.fail(error);
    const attaching = log.attachWaiters;
    log.attachWaiters = [];
    if (attaching.length > 0) {
      for (const waiter of attaching) waiter.reject(error);
      return;
    }
    log.owner?.lost(error);
  }

  /** The job has ended and all of it is written: nothing of it is left to persist here. */
  #ended(log: JobLog): void {
    if (this.#logs.get(log.job.jobId) !== log) return;
    this.#logs.delete(log.job.jobId);
    if (log.data.journal === this) log.data.journal = undefined;
  }

  /** Stops persisting a job quietly (released at shutdown, or replaced by a newer copy); whoever waits for its unwritten commits learns so. */
  #drop(log: JobLog): void {
    this.#dirty.delete(log);
    if (this.#logs.get(log.job.jobId) === log) this.#logs.delete(log.job.jobId);
    if (log.data.journal === this) log.data.journal = undefined;
    log.lost ??= new StoreError(`Job '${log.job.jobId}' is no longer persisted by this process`);
    log.fail(log.lost);
  }

}
