// The port between the engine and what persists jobs: plain data in, promises out. The engine
// reports what each unit of work changed; a store's journal encodes and commits it. Neither side
// knows the other's classes.
import type { PendingTask } from "./task.js";
import type { LooseChanges, WriteSet } from "./write-set.js";

/**
 * A job as the journal port names it: the journal's implementation works with the job's state
 * itself (it is always a `JobStateCore`); the port needs no more than its identity.
 */
export interface JournaledJob {
  readonly jobId: string;
}

/** A control request for a job, sent through its store by another process (`pause`, `cancel`, `answer`, `resume`). */
export interface JobCommand {
  readonly id: number;
  readonly jobId: string;
  readonly kind: "pause" | "resume" | "cancel" | "answer";
  readonly args: Readonly<Record<string, unknown>>;
}

/** What the journal tells the engine about a job it persists. */
export interface JobOwner {
  /** Who holds the job in this process (its engine): `release` lets go of every job of one holder. */
  readonly holder: object;
  /** The job is lost to this process: its lease was taken, or the store failed for good. */
  lost(error: Error): void;
  /** Another process asks for a control call on the job; resolves when it is applied, rejects with why not. */
  command(command: JobCommand): Promise<void>;
}

/** How a job comes to run in this process. */
export type AttachMode =
  /** A new job (`flow.execute`): the store must not hold it yet. */
  | "start"
  /** A paused job (or a copy of one) resumed: the store must hold it at the copy's revision, leased to no live process. */
  | "resume"
  /** A job leased by `recover()`: the lease and its epoch are already taken. */
  | "recover";

/**
 * Receives what happens to the jobs of a flow, as plain data, and makes it durable. The engine
 * calls it synchronously on the hot path; an implementation buffers and commits in groups, in
 * call order, and tells the engine when it loses a job.
 * @internal
 */
export interface JobJournal {
  /**
   * Starts persisting `job` in this process. Resolves once the store holds it under this
   * process's lease (no handler of the job runs before); rejects with the error that refused it
   * (a revision older than the store's, a live owner elsewhere, a failing store). `owner` is told
   * later if the job is lost to this process, and of control requests other processes send.
   */
  attach(job: JournaledJob, mode: AttachMode, owner: JobOwner): Promise<void>;
  /**
   * One activation settled. `writes` holds what it wrote when it succeeded (undefined when it
   * failed); `added` the tasks it queued (its emits, or its retry). In the same unit: `earlier`,
   * the loose changes made before the activation's writes took effect, first; then the writes;
   * then the job's loose changes made since (what settling did: an error record, a pause).
   */
  taskSettled(
    job: JournaledJob,
    consumed: PendingTask,
    writes: WriteSet | undefined,
    added: readonly PendingTask[],
    earlier: LooseChanges | undefined,
  ): void;
  /** The job changed outside any activation (its loose changes): commit them soon. */
  jobChanged(job: JournaledJob): void;
  /**
   * The job's lease may have expired by this process's clock (`JobData.leaseUntil`): renews it at
   * once. Resolves when the store confirms this process still holds it (with `leaseUntil` moved on);
   * rejects with what lost the job (the owner is told too). While the store cannot be reached it
   * keeps trying at the renewal period.
   */
  confirmLease(job: JournaledJob): Promise<void>;
  /** Resolves once everything handed over for `job` (every job, when omitted) is durable; rejects with what lost it. */
  flush(job?: JournaledJob): Promise<void>;
  /** `holder` stops holding its jobs (shutdown): what is buffered is written, and the jobs are let go with their leases. */
  release(holder: object): Promise<void>;
  /**
   * Stops persisting one job here, for another process to take: what is buffered for it is
   * written, then its lease is released. Rejects with what lost the job when its commits failed.
   */
  handBack(job: JournaledJob): Promise<void>;
}
