import type { Flow } from "../api/flow.js";
import type { JobState } from "../api/job-state.js";
import type { Clock, TimerHandle } from "../core/clock.js";
import type { Payload } from "../core/slot.js";
import type { JobData } from "../state/job-data.js";
import type { JobStateCore } from "../state/job-state.js";
import type { PendingTask } from "../state/task.js";

/** An activation of a run's job, as the run knows it (the dispatcher's TaskContext). @internal */
export interface RunningActivation {
  readonly routineId: string;
  /** Tells the handler to stop; the first reason wins. */
  abort(reason: unknown): void;
}

/** What a run and its activations need from the engine that owns them. @internal */
export interface RunOwner {
  readonly flow: Flow;
  /** Settles an activation whose handler returned a promise. */
  readonly dispatcher: { settleAsync(ctx: RunningActivation, error: unknown, ok: boolean, native?: boolean): void };
  readonly clock: Clock;
  readonly closed: boolean;
  /** An emit from a continuation that outlived its handler. */
  emitDetached(run: JobRun, routineId: string, eventName: string, data: Payload): void;
  /** A `deliverLater` from a continuation that outlived its handler. */
  deliverDetached(run: JobRun, task: PendingTask): void;
  /** A `cancelDelivery` from a continuation that outlived its handler. */
  cancelDetached(run: JobRun, routineId: string, key: string): void;
  /** `ctx.waitForInput`. */
  requestInput(ctx: RunningActivation, request: { slot: string; prompt?: string; schema?: object; group?: string }): void;
  /** Waits for the job to rest (see `Engine.wait`). */
  wait(jobState: JobState, timeoutMs: number | undefined, operation?: string): Promise<"rested" | "timeout" | "released">;
  /** The run moves to another engine: this one forgets it. */
  forget(run: JobRun): void;
}

/**
 * A job attached to an engine in this process: the transient bookkeeping that is not state
 * (scheduling flags, timers, who waits for its handlers). Everything that is state stays in the
 * JobState.
 * @internal
 */
export class JobRun {
  readonly engine: RunOwner;
  readonly job: JobStateCore;
  readonly data: JobData;
  /** Bits of QUEUED, COUNTED, GATED, DETACHED and HELD: many idle jobs each hold a run. */
  #flags = 0;
  #more: RunTimers | undefined;

  constructor(engine: RunOwner, job: JobStateCore, data: JobData) {
    this.engine = engine;
    this.job = job;
    this.data = data;
  }

  /** In the scheduler's ready ring. */
  get queued(): boolean {
    return (this.#flags & QUEUED) !== 0;
  }

  set queued(value: boolean) {
    this.#flags = value ? this.#flags | QUEUED : this.#flags & ~QUEUED;
  }

  /** Counted in the flow's job figures. */
  get counted(): boolean {
    return (this.#flags & COUNTED) !== 0;
  }

  set counted(value: boolean) {
    this.#flags = value ? this.#flags | COUNTED : this.#flags & ~COUNTED;
  }

  /** Waiting for the store to accept it (durable start or resume): nothing of it is dispatched yet. */
  get gated(): boolean {
    return (this.#flags & GATED) !== 0;
  }

  set gated(value: boolean) {
    this.#flags = value ? this.#flags | GATED : this.#flags & ~GATED;
  }

  /** Its lease may have expired by this process's clock: nothing of it is dispatched until a renewal confirms the lease. */
  get held(): boolean {
    return (this.#flags & HELD) !== 0;
  }

  set held(value: boolean) {
    this.#flags = value ? this.#flags | HELD : this.#flags & ~HELD;
  }

  /** Let go by this process (its lease was lost, its store failed for good, the flow shut down): nothing more runs. */
  get detached(): boolean {
    return (this.#flags & DETACHED) !== 0;
  }

  set detached(value: boolean) {
    this.#flags = value ? this.#flags | DETACHED : this.#flags & ~DETACHED;
  }

  /** Settles once the store has accepted the job (set while gated). */
  get attached(): Promise<void> | undefined {
    return this.#more?.attached;
  }

  set attached(value: Promise<void> | undefined) {
    (this.#more ??= new RunTimers()).attached = value;
  }

  /** Timers of the job's delayed tasks, by taskId. */
  get retryTimers(): Map<number, TimerHandle> | undefined {
    return this.#more?.retryTimers;
  }

  set retryTimers(value: Map<number, TimerHandle> | undefined) {
    if (this.#more !== undefined || value !== undefined) (this.#more ??= new RunTimers()).retryTimers = value;
  }

  /** The job's time limit. */
  get timeoutTimer(): TimerHandle | undefined {
    return this.#more?.timeoutTimer;
  }

  set timeoutTimer(value: TimerHandle | undefined) {
    if (this.#more !== undefined || value !== undefined) (this.#more ??= new RunTimers()).timeoutTimer = value;
  }

  /** Callers waiting for the job's in-flight handlers to settle (`pause` from outside). */
  get idleWaiters(): Array<() => void> | undefined {
    return this.#more?.idleWaiters;
  }

  set idleWaiters(value: Array<() => void> | undefined) {
    if (this.#more !== undefined || value !== undefined) (this.#more ??= new RunTimers()).idleWaiters = value;
  }

  /** Activations of this job whose handlers run now. */
  get active(): readonly RunningActivation[] {
    return this.data.inFlight as unknown as RunningActivation[];
  }

  /** Whether the job may run tasks now: running here, accepted by its store, its lease confirmed, not let go. */
  get runnable(): boolean {
    return (this.#flags & (GATED | DETACHED | HELD)) === 0 && this.job.status === "running";
  }
}

const QUEUED = 1;
const COUNTED = 2;
const GATED = 4;
const DETACHED = 8;
const HELD = 16;

/** What only some runs need: made on first use. */
class RunTimers {
  attached: Promise<void> | undefined;
  retryTimers: Map<number, TimerHandle> | undefined;
  timeoutTimer: TimerHandle | undefined;
  idleWaiters: Array<() => void> | undefined;
}
