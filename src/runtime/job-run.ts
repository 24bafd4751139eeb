import type { TimerHandle } from "../core/clock.js";
import type { JobData } from "../state/job-data.js";
import type { JobStateCore } from "../state/job-state.js";
import type { TaskContext } from "./activation.js";
import type { Engine } from "./engine.js";

/**
 * A job attached to an engine in this process: the transient bookkeeping that is not state
 * (scheduling flags, timers, who waits for its handlers). Everything that is state stays in the
 * JobState.
 * @internal
 */
export class JobRun {
  readonly engine: Engine;
  readonly job: JobStateCore;
  readonly data: JobData;
  /** In the scheduler's ready ring. */
  queued = false;
  /** Counted in the flow's job figures. */
  counted = false;
  /** Waiting for the store to accept it (durable start or resume): nothing of it is dispatched yet. */
  gated = false;
  /** Settles once the store has accepted the job (set while gated). */
  attached: Promise<void> | undefined;
  /** Let go by this process (its lease was lost, its store failed for good, the flow shut down): nothing more runs. */
  detached = false;
  retryTimers: Map<number, TimerHandle> | undefined;
  timeoutTimer: TimerHandle | undefined;
  /** Callers waiting for the job's in-flight handlers to settle (`pause` from outside). */
  idleWaiters: Array<() => void> | undefined;

  constructor(engine: Engine, job: JobStateCore, data: JobData) {
    this.engine = engine;
    this.job = job;
    this.data = data;
  }

  /** Activations of this job whose handlers run now. */
  get active(): readonly TaskContext[] {
    return this.data.inFlight as TaskContext[];
  }

  /** Whether the job may run tasks now: running here, accepted by its store, not let go. */
  get runnable(): boolean {
    return this.job.status === "running" && !this.gated && !this.detached;
  }
}
