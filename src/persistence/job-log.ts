import { kJobData, type JobData } from "../state/job-data.js";
import type { JobStateCore } from "../state/job-state.js";
import type { JobOwner } from "../state/journal.js";
import { encodeDelta, type Delta } from "./commit-format.js";
import type { StoredCommit } from "./job-store.js";

/** A log this large since the last snapshot (or as large as that snapshot, whichever is more) gets a new snapshot. */
const SNAPSHOT_MIN_LOG_BYTES = 64 * 1024;
/** A running job whose log has grown gets a snapshot at least this often. */
const SNAPSHOT_EVERY_MS = 60_000;
/** The size a commit not yet encoded is taken to have before any of the job's commits was encoded. */
const GUESSED_COMMIT_BYTES = 256;

/** Someone waiting for a job's commits up to `seq` to be durable. */
interface SeqWaiter {
  readonly seq: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * A commit handed to the writer: a full-state snapshot, encoded at once, or a delta, encoded when
 * it is written (a delta that a later snapshot of the same group commit supersedes costs no
 * encoding). What a delta holds cannot change meanwhile: values were captured when it was built,
 * and appended entries, payloads and tasks never change once handed to the job.
 * @internal
 */
export class TrackedCommit implements StoredCommit {
  readonly seq: number;
  readonly snapshot: boolean;
  #text: string | undefined;
  #delta: Delta | undefined;
  readonly #log: JobLog;

  constructor(log: JobLog, seq: number, text: string | undefined, delta?: Delta) {
    this.#log = log;
    this.seq = seq;
    this.snapshot = text !== undefined;
    this.#text = text;
    this.#delta = delta;
  }

  /** The commit as JSON text, encoded on first read. */
  get data(): string {
    if (this.#text === undefined) {
      const text = encodeDelta(this.#delta!);
      this.#text = text;
      this.#delta = undefined;
      this.#log.encoded(text.length);
    }
    return this.#text;
  }
}

/**
 * One job persisted by a store's writer in this process: its place in the store's log (revision
 * and fencing epoch), whether its next write must take it (start, resume), when it needs a
 * snapshot, and who waits for its commits.
 * @internal
 */
export class JobLog {
  readonly job: JobStateCore;
  readonly data: JobData;
  /** The sequence number of the last commit built. */
  seq: number;
  /** The sequence number of the last commit written. */
  durableSeq: number;
  /** The fencing epoch this process holds. */
  epoch: number;
  /** The next write takes the job (checking its revision and lease) and gets a new epoch. */
  acquire = false;
  /** Being handed back to the store for another process: control requests for it are no longer taken here. */
  handingBack = false;
  /** For `acquire`: the revision the store must hold it at (0: a new job). */
  previousSeq = 0;
  /** The next commit is a snapshot (right after attaching). */
  needsBase = false;
  /** The store may hold log rows of this job, to drop with a snapshot. */
  mayHaveLog: boolean;
  /** Pause points the store has. */
  pausePoints: number;
  logBytes = 0;
  snapshotBytes = 0;
  /** Deltas built but not yet encoded (their size is estimated from the average so far). */
  unencoded = 0;
  #encodedCount = 0;
  #encodedBytes = 0;
  /** The job ended: its last commit is built, nothing more is. */
  closed = false;
  lastSnapshotMs = 0;
  /** Why the job was lost to this process (its commits are no longer written). */
  lost: Error | undefined;
  /** The engine's side: told when the job is lost after it was attached, and of commands for it. */
  owner: JobOwner | undefined;
  attachWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  /** Those waiting for the store to confirm the job's lease (`confirmLease`). */
  leaseWaiters: Array<{ resolve(): void; reject(error: Error): void }> | undefined;
  #waiters: SeqWaiter[] = [];

  constructor(job: JobStateCore, epoch: number) {
    this.job = job;
    this.data = job[kJobData];
    this.seq = this.data.revision;
    this.durableSeq = this.data.revision;
    this.epoch = epoch;
    this.mayHaveLog = this.data.revision > 0;
    this.pausePoints = job.pausePoints.length;
  }

  /** A delta of `bytes` was encoded. */
  encoded(bytes: number): void {
    this.logBytes += bytes;
    if (this.unencoded > 0) this.unencoded--;
    this.#encodedCount++;
    this.#encodedBytes += bytes;
  }

  /** A snapshot replaced the log. */
  snapshotted(bytes: number, nowMs: number): void {
    this.snapshotBytes = bytes;
    this.logBytes = 0;
    this.unencoded = 0;
    this.lastSnapshotMs = nowMs;
  }

  /**
   * Whether the next commit should be a snapshot instead of a delta: right after attaching, when
   * the job rests, or when its log since the last snapshot (deltas not yet encoded counted at the
   * average size so far) reaches that snapshot's size (at least 64 KiB), or is a minute old.
   */
  wantsSnapshot(nowMs: number): boolean {
    if (this.needsBase) return true;
    if (this.job.status !== "running") return true;
    const average = this.#encodedCount === 0 ? GUESSED_COMMIT_BYTES : this.#encodedBytes / this.#encodedCount;
    const logBytes = this.logBytes + this.unencoded * average;
    if (logBytes >= Math.max(SNAPSHOT_MIN_LOG_BYTES, this.snapshotBytes)) return true;
    return logBytes > 0 && nowMs - this.lastSnapshotMs >= SNAPSHOT_EVERY_MS;
  }

  /** Resolves once the commits built so far are written; rejects if the job is lost first. */
  waitDurable(): Promise<void> {
    if (this.lost !== undefined) return Promise.reject(this.lost);
    if (this.durableSeq >= this.seq && !this.acquire) return Promise.resolve();
    const seq = this.seq;
    return new Promise((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
  }

  /** Commits up to `seq` were written. */
  written(seq: number): void {
    if (seq > this.durableSeq) this.durableSeq = seq;
    if (this.#waiters.length === 0) return;
    const keep: SeqWaiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.seq <= this.durableSeq) waiter.resolve();
      else keep.push(waiter);
    }
    this.#waiters = keep;
  }

  /** The store holds the job's lease for this process until `untilMs` (at least): those waiting for that learn it. */
  leased(untilMs: number): void {
    if (untilMs > this.data.leaseUntil) this.data.leaseUntil = untilMs;
    const waiters = this.leaseWaiters;
    if (waiters === undefined) return;
    this.leaseWaiters = undefined;
    for (const waiter of waiters) waiter.resolve();
  }

  /** The job is lost: every waiter learns why. */
  fail(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
    const leaseWaiters = this.leaseWaiters;
    this.leaseWaiters = undefined;
    for (const waiter of leaseWaiters ?? []) waiter.reject(error);
  }
}
