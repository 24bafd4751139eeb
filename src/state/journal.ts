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
   * (a revision older than the store's, a live owner elsewhere, a failing store). `lost` is called
   * later if the job is lost to this process: its lease was taken, or the store failed for good.
   */
  attach(job: JournaledJob, mode: AttachMode, lost: (error: Error) => void): Promise<void>;
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
  /** Resolves once everything handed over for `job` (every job, when omitted) is durable; rejects with what lost it. */
  flush(job?: JournaledJob): Promise<void>;
  /** This process stops running these jobs (shutdown): what is buffered is written and their leases released. */
  release(jobs: readonly JournaledJob[]): Promise<void>;
}
