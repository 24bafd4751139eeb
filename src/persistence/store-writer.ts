import { outsideContext } from "../core/context.js";
import { JobStateError, StoreError, describeError, showValue } from "../core/errors.js";
import { kJobData } from "../state/job-data.js";
import type { JobStateCore } from "../state/job-state.js";
import type { AttachMode, JobCommand, JobJournal, JobOwner } from "../state/journal.js";
import type { PendingTask } from "../state/task.js";
import type { JobStatus } from "../state/job-snapshot.js";
import type { LooseChanges, WaitRequest, WriteSet } from "../state/write-set.js";
import { baseCommit, buildDelta } from "./commit-format.js";
import { JobLog, TrackedCommit } from "./job-log.js";
import { TERMINAL_STATUSES, type CommitResult, type FencedWrite, type JobStore, type JobWrite } from "./job-store.js";
import { isOwnerGone, newOwnerId } from "./lease.js";

/** How often a process looks for control requests other processes sent for the jobs it holds. */
const COMMAND_POLL_MS = 100;
/** A batch is written at once when it holds this many commits, not at the next turn. */
const BATCH_MAX_COMMITS = 2048;
/** A failed group commit is tried again after these delays; after the last, the failure is lasting. */
const RETRY_DELAYS_MS = [25, 50, 100, 200, 400, 800];
const NO_TASKS: readonly PendingTask[] = [];

/** A group commit under way: when it began, and how to fail it when it outlasts the lease. */
interface WatchedWrite {
  readonly startedMs: number;
  fail(error: StoreError): void;
}

/** One job's part of a batch being gathered. */
interface PendingWrite {
  readonly log: JobLog;
  /** The revision the store holds the job at before this write. */
  readonly previousSeq: number;
  acquire: boolean;
  snapshot: TrackedCommit | undefined;
  commits: TrackedCommit[];
  /**
   * The job's indexed fields as of its last commit here, not as of the write: the job may move on
   * (a pause, say) before the batch is written, and the row must agree with the commits it holds.
   */
  status: JobStatus;
  updatedAtMs: number;
  metadata: Record<string, unknown>;
  waitingFor: readonly WaitRequest[] | undefined;
}

/** The commits gathered for one transaction, per job in order; a snapshot supersedes what came before it. */
class Batch {
  readonly jobs = new Map<string, PendingWrite>();
  commits = 0;

  add(log: JobLog, commit: TrackedCommit, acquire: boolean, previousSeq: number): void {
    let write = this.jobs.get(log.job.jobId);
    if (write === undefined || write.log !== log) {
      write = { log, previousSeq, acquire, snapshot: undefined, commits: [], status: "running", updatedAtMs: 0, metadata: {}, waitingFor: undefined };
      this.jobs.set(log.job.jobId, write);
    }
    write.acquire ||= acquire;
    write.status = log.job.status;
    write.updatedAtMs = log.data.updatedAtMs;
    write.metadata = log.job.metadata;
    write.waitingFor = log.data.waitingFor;
    if (commit.snapshot) {
      write.snapshot = commit;
      write.commits = [];
    } else {
      write.commits.push(commit);
    }
    this.commits++;
  }
}

/** The last sequence number of a pending write. */
function lastSeq(write: PendingWrite): number {
  return write.commits.at(-1)?.seq ?? write.snapshot!.seq;
}

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

/** Whether this process holds a job's lease in the store now: it runs here, or its own handler's pause is not stored yet. */
function leased(log: JobLog): boolean {
  return log.job.status === "running" || (log.job.status === "paused" && log.data.holds > 0);
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
 * activation and each batch of changes made outside activations into one commit, and writes the
 * commits of many tasks and jobs in one transaction (group commit) at the next turn of the event
 * loop. A job is written only under the fencing epoch this process got when it took the job (a
 * new job, a resume, a recovery), and only on top of the revision the store holds: a stale copy
 * or a process that lost the job can never write it. It renews this process's leases at a third
 * of the store's `leaseMs` and stops a job at once when its lease is found taken.
 *
 * A failing commit is retried with backoff (`RETRY_DELAYS_MS`), and a commit that does not finish
 * within `leaseMs` counts as failed; when the retries are spent the failure is lasting: the jobs
 * of that commit are lost to this process (their waiters are told the StoreError) and the store
 * keeps their last committed state, which `recover()` carries on.
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
  /** A group commit is due at the end of this turn's microtasks (a job waits for its base). */
  #soon = false;
  /** The last write started: later writes wait for it, so commits reach the store in order. */
  #last: Promise<void> = Promise.resolve();
  /** Batches sealed and not yet written (or lost). */
  #writing = 0;
  #failures = 0;
  /** The write under way, for the lease watchdog, and the watchdog's timer. */
  #watched: WatchedWrite | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #commandTimer: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  #closed = false;
  readonly #onImmediate = (): void => {
    this.#immediate = undefined;
    void this.#startWrite();
  };
  readonly #onSoon = (): void => {
    this.#soon = false;
    void this.#startWrite();
  };

  constructor(store: JobStore) {
    this.store = store;
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
    this.#startRenewal();
    if (mode === "recover") return Promise.resolve();
    this.#scheduleBase();
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
    void this.#renew();
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
    if (this.#renewTimer !== undefined) clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
    if (this.#commandTimer !== undefined) clearInterval(this.#commandTimer);
    this.#commandTimer = undefined;
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

  /**
   * A job's base commit, which the job waits for before any handler runs. When the writer is idle
   * (nothing gathered, nothing being written) there is nothing to group it with but what this turn
   * still does: it is written once this turn's microtasks are done, not a turn later.
   */
  #scheduleBase(): void {
    if (this.#immediate !== undefined || this.#soon) return;
    if (this.#writing > 0 || this.#batch.jobs.size > 0) {
      this.#schedule();
      return;
    }
    this.#soon = true;
    outsideContext(() => queueMicrotask(this.#onSoon));
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
    return this.#last;
  }

  /** Queues the gathered batch for writing after the writes before it. */
  #seal(): void {
    if (this.#batch.jobs.size === 0) return;
    const batch = this.#batch;
    this.#batch = new Batch();
    this.#writing++;
    outsideContext(() => {
      this.#last = this.#last.then(() => this.#write(batch));
    });
  }

  /**
   * Writes one batch; never rejects. A failure is retried after a backoff before anything newer is
   * written (later batches wait behind this one, so none overtakes it and finds the store at an
   * older revision); a lasting failure loses the batch's jobs.
   */
  async #write(batch: Batch): Promise<void> {
    try {
      for (;;) {
        const error = await this.#writeOnce(batch);
        if (error === undefined) return;
        const delay = this.#failed(batch, error);
        if (delay === undefined) return;
        // Held (not unref'd): a commit waiting to be retried is work the process must not walk away from.
        await new Promise<void>((resolve) => outsideContext(() => setTimeout(resolve, delay)));
      }
    } finally {
      this.#writing--;
    }
  }

  /** One attempt at writing a batch: what the store threw, or undefined when it was written (fenced parts are lost). */
  async #writeOnce(batch: Batch): Promise<unknown> {
    const parts: PendingWrite[] = [];
    const writes: JobWrite[] = [];
    for (const part of batch.jobs.values()) {
      const log = part.log;
      if (log.lost !== undefined) continue;
      const job = log.job;
      const data = log.data;
      parts.push(part);
      writes.push({
        jobId: job.jobId,
        flowId: job.flowId,
        status: part.status,
        createdAtMs: data.createdAtMs,
        updatedAtMs: part.updatedAtMs,
        metadata: JSON.stringify(part.metadata),
        waitingFor: part.waitingFor === undefined ? undefined : JSON.stringify(part.waitingFor.map((w) => `${w.routineId}.${w.slotName}`)),
        previousSeq: part.previousSeq,
        epoch: log.epoch,
        acquire: part.acquire,
        snapshot: part.snapshot,
        dropsLog: part.snapshot !== undefined && log.mayHaveLog,
        commits: part.commits,
      });
    }
    if (writes.length === 0) return undefined;
    const nowMs = Date.now();
    const leaseUntilMs = nowMs + this.store.leaseMs;
    let answer: unknown;
    try {
      const commit = this.store.commit({ owner: this.owner, nowMs, leaseUntilMs, jobs: writes, isOwnerGone });
      answer = await this.#withinLease(commit);
    } catch (error) {
      return error ?? new Error("the store failed without a reason");
    }
    // A store that answers what no JobStore may cannot be trusted: nothing counts as written.
    if (!isCommitResult(answer)) return new StoreError(`${String(this.store)}: commit() resolved to ${showValue(answer)}, not a CommitResult { fenced, epochs }`);
    const result = answer;
    this.#failures = 0;
    const fenced = result.fenced.length === 0 ? undefined : new Map<string, FencedWrite>(result.fenced.map((f) => [f.jobId, f]));
    for (const part of parts) {
      const log = part.log;
      const why = fenced?.get(log.job.jobId);
      if (why !== undefined) {
        this.#lose(log, fencedError(why, log, String(this.store)));
        continue;
      }
      // A snapshot dropped the rows before it; the commits after it are rows the next snapshot drops.
      if (part.snapshot !== undefined) log.mayHaveLog = part.commits.length > 0;
      else if (part.commits.length > 0) log.mayHaveLog = true;
      if (part.acquire) {
        log.epoch = result.epochs[log.job.jobId] ?? log.epoch;
        log.acquire = false;
        const waiters = log.attachWaiters;
        log.attachWaiters = [];
        for (const waiter of waiters) waiter.resolve();
      }
      log.written(lastSeq(part));
      // A running job's write leases it to this process until then (asked for before the write began).
      if (part.status === "running") log.leased(leaseUntilMs);
      if (log.data.final && log.durableSeq >= log.seq && this.#logs.get(log.job.jobId) === log) {
        this.#logs.delete(log.job.jobId);
        if (log.data.journal === this) log.data.journal = undefined;
      }
    }
    return undefined;
  }

  /**
   * A commit that does not finish within the lease counts as failed: the lease may be gone by then.
   * One timer watches the write under way (writes go one at a time); it is set again only when it
   * fires before that write's time is up, not once per commit. It holds the process only while a
   * write is under way.
   */
  #withinLease<T>(commit: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const watched: WatchedWrite = { startedMs: Date.now(), fail: reject };
      this.#watched = watched;
      this.#watch(this.store.leaseMs);
      const done = (): void => {
        if (this.#watched !== watched) return;
        this.#watched = undefined;
        this.#watchdog?.unref();
      };
      commit.then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }

  #watch(delayMs: number): void {
    if (this.#watchdog === undefined) this.#watchdog = outsideContext(() => setTimeout(this.#onWatchdog, delayMs));
    else this.#watchdog.ref();
  }

  readonly #onWatchdog = (): void => {
    this.#watchdog = undefined;
    const watched = this.#watched;
    if (watched === undefined) return;
    const leaseMs = this.store.leaseMs;
    const left = watched.startedMs + leaseMs - Date.now();
    if (left > 0) {
      this.#watch(left);
      return;
    }
    this.#watched = undefined;
    watched.fail(new StoreError(
      `${String(this.store)} did not finish a group commit within ${leaseMs} ms (leaseMs); it may still be written, ` +
      "but this process no longer counts on it",
    ));
  };

  /** A group commit failed: the delay before trying it again, or undefined when the failure is lasting (its jobs are lost). */
  #failed(batch: Batch, error: unknown): number | undefined {
    const failure = error instanceof StoreError
      ? error
      : new StoreError(`${String(this.store)} could not write a group commit: ${describeError(error).message}`, { cause: error });
    const delay = RETRY_DELAYS_MS[this.#failures++];
    if (delay === undefined || this.#closed) {
      this.#failures = 0;
      for (const part of batch.jobs.values()) this.#lose(part.log, failure);
      return undefined;
    }
    return delay;
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

  /** Stops persisting a job quietly (released at shutdown, or replaced by a newer copy); whoever waits for its unwritten commits learns so. */
  #drop(log: JobLog): void {
    this.#dirty.delete(log);
    if (this.#logs.get(log.job.jobId) === log) this.#logs.delete(log.job.jobId);
    if (log.data.journal === this) log.data.journal = undefined;
    log.lost ??= new StoreError(`Job '${log.job.jobId}' is no longer persisted by this process`);
    log.fail(log.lost);
  }

  #startRenewal(): void {
    if (this.#renewTimer !== undefined || this.#closed) return;
    const leaseMs = this.store.leaseMs;
    this.#renewTimer = outsideContext(() => setInterval(() => void this.#renew(), Math.max(10, Math.floor(leaseMs / 3))));
    this.#renewTimer.unref();
    this.#commandTimer = outsideContext(() => setInterval(() => void this.#pollCommands(), COMMAND_POLL_MS));
    this.#commandTimer.unref();
  }

  /** Takes the control requests other processes sent for jobs held here, and applies each through its engine. */
  async #pollCommands(): Promise<void> {
    if (this.#polling || this.#logs.size === 0) return;
    const held: string[] = [];
    for (const [jobId, log] of this.#logs) if (!log.handingBack) held.push(jobId);
    if (held.length === 0) return;
    this.#polling = true;
    let commands: JobCommand[];
    try {
      commands = await this.store.takeCommands(this.owner, held);
    } catch {
      return; // the store fails now: the next poll tries again
    } finally {
      this.#polling = false;
    }
    for (const command of commands) {
      const log = this.#logs.get(command.jobId);
      const applied = log?.owner === undefined
        ? Promise.reject(new StoreError(`Job '${command.jobId}' is no longer held by this process`))
        : log.owner.command(command);
      applied.then(
        () => this.store.finishCommand(command.id, { ok: true }),
        (error: unknown) => this.store.finishCommand(command.id, { ok: false, error: describeError(error).message }),
      ).catch(() => undefined);
    }
  }

  /**
   * Extends the leases of the jobs running here; a job whose lease was taken is lost at once. Those
   * waiting for a lease to be confirmed (`confirmLease`) are told; when the store cannot be reached
   * they wait for the next renewal.
   */
  async #renew(): Promise<void> {
    const held: Array<{ jobId: string; epoch: number }> = [];
    const logs: JobLog[] = [];
    for (const [jobId, log] of this.#logs) {
      if (!log.acquire && leased(log) && log.durableSeq > 0) {
        held.push({ jobId, epoch: log.epoch });
        logs.push(log);
      }
    }
    if (held.length === 0) return;
    const leaseUntilMs = Date.now() + this.store.leaseMs;
    let gone: string[];
    try {
      gone = await this.store.renewLeases(this.owner, leaseUntilMs, held);
    } catch {
      return; // the store fails now: commits report it
    }
    const lost = new Set(gone);
    for (let i = 0; i < logs.length; i++) {
      const log = logs[i]!;
      const jobId = log.job.jobId;
      if (!lost.has(jobId)) {
        if (log.lost === undefined && log.epoch === held[i]!.epoch) log.leased(leaseUntilMs);
      } else if (this.#logs.get(jobId) === log && leased(log)) {
        this.#lose(log, new StoreError(`The lease of job '${jobId}' in ${String(this.store)} was taken by another process; this process stops the job`));
      }
    }
  }
}

function isCommitResult(value: unknown): value is CommitResult {
  if (typeof value !== "object" || value === null) return false;
  const { fenced, epochs } = value as Partial<CommitResult>;
  return Array.isArray(fenced) && typeof epochs === "object" && epochs !== null;
}

function staleCopy(jobId: string, copy: number, stored: number, where: string): JobStateError {
  return new JobStateError(
    `Job '${jobId}' cannot be resumed from this copy: the copy is at revision ${copy}, but ${where} holds revision ${stored}; ` +
    "load the job again (store.loadJob) and resume that",
  );
}

function fencedError(why: FencedWrite, log: JobLog, where: string): Error {
  const jobId = why.jobId;
  switch (why.reason) {
    case "revision":
      return log.acquire
        ? staleCopy(jobId, log.previousSeq, why.storedSeq ?? 0, where)
        : new StoreError(`Job '${jobId}' was changed in ${where} by another process (revision ${why.storedSeq ?? "?"}, this process had ${log.durableSeq}); this process stops it`);
    case "leased":
      return new JobStateError(`Job '${jobId}' is running in another process (${why.leaseOwner ?? "unknown"}), which holds its lease in ${where}; it cannot run here too`);
    case "epoch":
      return new StoreError(`Job '${jobId}' was taken over by another process in ${where} (its lease was lost); this process stops it and can no longer write it`);
    case "ended":
      // Taking an ended job is refused; a job this process held was taken over and ended elsewhere: it is lost here.
      return log.acquire
        ? new JobStateError(`Job '${jobId}' has ended in ${where} (revision ${why.storedSeq ?? "?"}); it cannot change any more`)
        : new StoreError(
          `Job '${jobId}' was taken over by another process in ${where}, which ended it (revision ${why.storedSeq ?? "?"}); ` +
          "this process stops it and can no longer write it",
        );
    case "exists":
      return new StoreError(`Job '${jobId}' is already in ${where}; a new job needs a new id`);
    case "missing":
      return new StoreError(`Job '${jobId}' is no longer in ${where} (it was deleted); this process stops persisting it`);
  }
}
