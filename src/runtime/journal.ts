import type { JobState } from "../state/job-state.js";
import type { PendingTask } from "../state/task.js";
import type { TaskContext } from "./job-run.js";

/**
 * What the engine tells a durable store as jobs run. The engine calls it synchronously on the
 * hot path; an implementation buffers and commits in groups, in call order.
 * @internal
 */
export interface Journal {
  /** A job is attached to the engine (started, resumed or recovered): start tracking its changes. */
  attach(job: JobState): void;
  /**
   * A slot activation settled (succeeded, or failed and was handled): commit what it changed,
   * the task it consumed (`ctx.task`) and the tasks it added, as one unit.
   */
  taskSettled(job: JobState, ctx: TaskContext, added: readonly PendingTask[]): void;
  /** A change outside any activation: start, pause, resume, cancel, the end, a timeout. */
  jobChanged(job: JobState): void;
  /** Resolves once everything handed over so far is durable. */
  flush(): Promise<void>;
}
