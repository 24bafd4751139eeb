import type { ActiveContext } from "../core/context.js";
import type { TimerHandle } from "../core/clock.js";
import type { Routine } from "../core/routine.js";
import type { Payload } from "../core/slot.js";
import type { JobData, JobState } from "../state/job-state.js";
import type { PendingTask } from "../state/task.js";
import type { Engine } from "./engine.js";
import type { Flow } from "./flow.js";

/**
 * A job attached to an engine in this process: the transient bookkeeping that is not state
 * (handlers in flight, timers, scheduling flags). Everything that is state stays in the JobState.
 * @internal
 */
export class JobRun {
  readonly engine: Engine;
  readonly job: JobState;
  readonly data: JobData;
  /** In the scheduler's ready ring. */
  queued = false;
  /** Counted in the flow's job figures. */
  counted = false;
  retryTimers: Map<number, TimerHandle> | undefined;
  timeoutTimer: TimerHandle | undefined;
  runningSince = 0;
  idleWaiters: Array<{ threshold: number; resolve: () => void }> | undefined;

  constructor(engine: Engine, job: JobState, data: JobData) {
    this.engine = engine;
    this.job = job;
    this.data = data;
  }

  /** Handlers of this job running now. */
  get inFlight(): number {
    return this.data.inFlight.length;
  }
}

/**
 * The context of one slot activation: what the handler's `emit`, `sendOutput` and
 * `emitDeferredEvent` reach through the async context. Its emits are held until the handler
 * settles: delivered if it succeeds, discarded if it fails (so a retry never delivers twice).
 * @internal
 */
export class TaskContext implements ActiveContext {
  // One is made per activation: fields are kept to what cannot be derived.
  readonly routine: Routine;
  readonly run: JobRun;
  readonly task: PendingTask;
  readonly startedAt: number;
  /** The handler has settled; later emits (from a detached continuation) apply at once. */
  done = false;
  /** Tasks emitted by the handler, delivered when it succeeds. */
  emitted: PendingTask[] | undefined;
  /** The slot buffer before this activation merged into it, restored if it fails. */
  previousBuffer: Payload | undefined;

  constructor(run: JobRun, routine: Routine, task: PendingTask, startedAt: number) {
    this.run = run;
    this.routine = routine;
    this.task = task;
    this.startedAt = startedAt;
  }

  get flow(): Flow {
    return this.run.engine.flow;
  }

  get jobState(): JobState {
    return this.run.job;
  }

  get routineId(): string {
    return this.task.routineId;
  }

  get attempt(): number {
    return this.task.attempt;
  }

  emit(routineId: string, eventName: string, data: Payload): void {
    this.run.engine.emit(this, routineId, eventName, data);
  }

  sendOutput(routineId: string, outputType: string, data: Payload): void {
    const status = this.jobState.status;
    if (status === "running" || status === "paused") this.jobState.sendOutput(routineId, outputType, data);
  }

  emitDeferred(routineId: string, eventName: string, data: Payload): void {
    const status = this.jobState.status;
    if (status === "running" || status === "paused") this.jobState.addDeferredEvent(routineId, eventName, data);
  }

  routineIdOf(routine: Routine): string | undefined {
    return this.flow.routineIdOf(routine);
  }
}
