// Group commit: the batches a store's journal gathers, written one after another, each as one
// transaction of the store; a failure is retried with backoff, a write is bounded by the lease,
// and what each write did is told to the jobs' logs (written, leased, taken, fenced off, lost).
import { outsideContext } from "../core/context.js";
import { JobStateError, StoreError, describeError, showValue } from "../core/errors.js";
import type { JobStatus } from "../state/job-snapshot.js";
import type { WaitRequest } from "../state/write-set.js";
import type { JobLog, TrackedCommit } from "./job-log.js";
import type { CommitResult, FencedWrite, JobStore, JobWrite } from "./job-store.js";
import { isOwnerGone } from "./lease.js";

/** A failed group commit is tried again after these delays; after the last, the failure is lasting. */
const RETRY_DELAYS_MS = [25, 50, 100, 200, 400, 800];

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

/**
 * The commits gathered for one transaction, per job in order; a snapshot supersedes what came
 * before it.
 * @internal
 */
export class Batch {
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

/** What a group commit needs from the journal whose batches it writes. @internal */
export interface CommitHost {
  readonly store: JobStore;
  /** The lease owner id of this process's journal. */
  readonly owner: string;
  /** Whether the journal is closed: a failed commit is then not tried again. */
  closed(): boolean;
  /** The job is lost to this process: nothing more of it is written; its waiters and its engine learn why. */
  lose(log: JobLog, error: Error): void;
  /** The job has ended and all of it is written: the journal lets it go. */
  ended(log: JobLog): void;
}

/**
 * Writes the batches a journal seals, one after another in the order they were sealed, each as
 * one group commit. A job is written only under the fencing epoch its log holds and on top of the
 * revision the store holds; a part the store fences off loses its job. A failing commit is retried
 * with backoff (`RETRY_DELAYS_MS`), and one that does not finish within the store's `leaseMs`
 * counts as failed; when the retries are spent the failure is lasting: the batch's jobs are lost
 * to this process and the store keeps their last committed state.
 * @internal
 */
export class GroupCommit {
  readonly #host: CommitHost;
  /** The last write queued: later writes wait for it, so commits reach the store in order. */
  #last: Promise<void> = Promise.resolve();
  /** Batches queued and not yet written (or lost). */
  #writing = 0;
  #failures = 0;
  /** The write under way, for the lease watchdog, and the watchdog's timer. */
  #watched: WatchedWrite | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;

  constructor(host: CommitHost) {
    this.#host = host;
  }

  /** Whether a batch is queued or being written. */
  get busy(): boolean {
    return this.#writing > 0;
  }

  /** Resolves once every batch queued so far is written, or its jobs lost; never rejects. */
  get settled(): Promise<void> {
    return this.#last;
  }

  /** Queues a batch, to be written after the batches before it. */
  queue(batch: Batch): void {
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
    const store = this.#host.store;
    const nowMs = Date.now();
    const leaseUntilMs = nowMs + store.leaseMs;
    let answer: unknown;
    try {
      const commit = store.commit({ owner: this.#host.owner, nowMs, leaseUntilMs, jobs: writes, isOwnerGone });
      answer = await this.#withinLease(commit);
    } catch (error) {
      return error ?? new Error("the store failed without a reason");
    }
    // A store that answers what no JobStore may cannot be trusted: nothing counts as written.
    if (!isCommitResult(answer)) return new StoreError(`${String(store)}: commit() resolved to ${showValue(answer)}, not a CommitResult { fenced, epochs }`);
    const result = answer;
    this.#failures = 0;
    const fenced = result.fenced.length === 0 ? undefined : new Map<string, FencedWrite>(result.fenced.map((f) => [f.jobId, f]));
    for (const part of parts) {
      const log = part.log;
      const why = fenced?.get(log.job.jobId);
      if (why !== undefined) {
        this.#host.lose(log, fencedError(why, log, String(store)));
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
      if (log.data.final && log.durableSeq >= log.seq) this.#host.ended(log);
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
      this.#watch(this.#host.store.leaseMs);
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
    const store = this.#host.store;
    const leaseMs = store.leaseMs;
    const left = watched.startedMs + leaseMs - Date.now();
    if (left > 0) {
      this.#watch(left);
      return;
    }
    this.#watched = undefined;
    watched.fail(new StoreError(
      `${String(store)} did not finish a group commit within ${leaseMs} ms (leaseMs); it may still be written, ` +
      "but this process no longer counts on it",
    ));
  };

  /** A group commit failed: the delay before trying it again, or undefined when the failure is lasting (its jobs are lost). */
  #failed(batch: Batch, error: unknown): number | undefined {
    const failure = error instanceof StoreError
      ? error
      : new StoreError(`${String(this.#host.store)} could not write a group commit: ${describeError(error).message}`, { cause: error });
    const delay = RETRY_DELAYS_MS[this.#failures++];
    if (delay === undefined || this.#host.closed()) {
      this.#failures = 0;
      for (const part of batch.jobs.values()) this.#host.lose(part.log, failure);
      return undefined;
    }
    return delay;
  }
}

function isCommitResult(value: unknown): value is CommitResult {
  if (typeof value !== "object" || value === null) return false;
  const { fenced, epochs } = value as Partial<CommitResult>;
  return Array.isArray(fenced) && typeof epochs === "object" && epochs !== null;
}

/** The error for a copy of a job older than what the store holds. @internal */
export function staleCopy(jobId: string, copy: number, stored: number, where: string): JobStateError {
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
