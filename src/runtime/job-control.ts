import type { Flow } from "../api/flow.js";
import type { JobState } from "../api/job-state.js";
import type { Clock } from "../core/clock.js";
import { currentContext } from "../core/context.js";
import { CancelledError, JobStateError, listChoices } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { kJobData } from "../state/job-data.js";
import type { JobStateCore } from "../state/job-state.js";
import type { AttachMode, JobJournal, JobOwner } from "../state/journal.js";
import type { PendingTask } from "../state/task.js";
import { TaskContext, deliveryOf } from "./activation.js";
import type { JobRun } from "./job-run.js";
import { isFinal, releaseWaiters, transition, type LifecycleHost } from "./lifecycle.js";
import type { Inputs } from "./inputs.js";
import type { Scheduler } from "./scheduler.js";
import type { Timers } from "./timers.js";

/** Whether the caller is a handler that has not settled (of any job): it must never wait for handlers. */
export function insideHandler(): boolean {
  const ctx = currentContext();
  return ctx instanceof TaskContext && !ctx.done;
}

/** What the control calls need from the engine. @internal */
export interface ControlHost extends LifecycleHost {
  readonly flow: Flow;
  readonly clock: Clock;
  readonly journal: JobJournal | undefined;
  readonly scheduler: Scheduler;
  readonly timers: Timers;
  readonly inputs: Inputs;
  /** Attaches a job to the engine (a new run, unless it is attached here already). */
  attachRun(job: JobStateCore): JobRun;
  /** Holds a run back until the store accepts it. */
  gate(run: JobRun, mode: AttachMode): void;
  /** The job's run on this engine, when it runs here. */
  runOf(job: JobStateCore): JobRun | undefined;
  checkJob(job: unknown, operation: string): JobStateCore;
  checkOpen(operation: string): void;
  /** What the journal tells the engine about a run's job. */
  ownerOf(run: JobRun): JobOwner;
  /** Drops a job's queued and delayed tasks; returns how many. */
  dropTasks(run: JobRun): number;
  queueTasks(run: JobRun, tasks: readonly PendingTask[]): void;
  pauseRun(run: JobRun, by: string, reason: string, checkpoint: Payload | undefined, details?: Payload): void;
  afterSettle(run: JobRun): void;
  /** Stops counting a run among the jobs running here. */
  forget(run: JobRun): void;
}

/**
 * The control calls on one job: pause, resume, cancel, answer, and the adoption of recovered
 * jobs. A call made from inside a handler never waits for handlers: it marks the job and returns.
 * @internal
 */
export class JobControl {
  readonly #engine: ControlHost;

  constructor(engine: ControlHost) {
    this.#engine = engine;
  }

  #idle(run: JobRun): Promise<void> {
    if (run.data.inFlight.length === 0) return Promise.resolve();
    return new Promise((resolve) => (run.idleWaiters ??= []).push(resolve));
  }

  async #flush(job: JobStateCore): Promise<void> {
    await job[kJobData].journal?.flush(job);
  }

  async pause(jobState: JobState, reason: string, checkpoint: Payload | undefined): Promise<void> {
    const job = this.#engine.checkJob(jobState, "pause");
    const inside = insideHandler();
    let run = this.#engine.runOf(job);
    const ctx = currentContext();
    const own = ctx instanceof TaskContext && run !== undefined && ctx.run === run && !ctx.done ? ctx : undefined;
    if (job.status === "running") {
      if (run === undefined) {
        throw new JobStateError(`Cannot pause job '${job.jobId}': it does not run on flow '${this.#engine.flowId}' in this process; resume it here first`);
      }
      if (own !== undefined && !own.holding) {
        // Paused by one of its own handlers: the pause is stored with that handler's work, never before it.
        own.holding = true;
        run.data.holds++;
      }
      this.#engine.pauseRun(run, own?.routineId ?? this.#engine.flowId, reason, checkpoint);
    } else if (job.status !== "paused") {
      throw new JobStateError(`Cannot pause job '${job.jobId}': it is ${job.status}; only a running job can be paused`);
    }
    run ??= this.#engine.runOf(job);
    if (!inside && run !== undefined) await this.#idle(run);
    if (own === undefined) await this.#flush(job);
  }

  resume(jobState: JobState): JobState {
    const job = this.#engine.checkJob(jobState, "resume");
    this.#engine.checkOpen("resume");
    const status = job.status;
    const current = this.#engine.runOf(job);
    if (status === "running" && current !== undefined) return jobState;
    if (status !== "paused" && status !== "running") {
      throw new JobStateError(`Cannot resume job '${job.jobId}': it is ${status}; only a paused job can be resumed`);
    }
    const waits = job[kJobData].waitingFor;
    if (waits !== undefined && waits.length > 0) {
      const what = waits.map((w) => `${w.routineId}.${w.slotName}`).join(", ");
      throw new JobStateError(`Cannot resume job '${job.jobId}': it waits for input (${what}); answer it with flow.answer(job, routineId, slotName, data)`);
    }
    this.#checkRunnable(job);
    const run = this.#engine.attachRun(job);
    this.#engine.gate(run, "resume");
    const data = run.data;
    const now = this.#engine.clock.now();
    const deferred = job.takeDeferredEvents();
    const record: Payload = { pendingTasks: data.queue.length + (data.delayed?.size ?? 0), deferredEvents: deferred.length };
    if (status === "paused") transition(this.#engine, run, "running", [this.#engine.flowId, "resumed", record]);
    else this.#adoptRunning(run, "resumed", record);
    for (const event of deferred) {
      job.pushRecord(event.routineId, event.eventName, event.data, now);
      const connections = this.#engine.flow.outgoing(event.routineId, event.eventName) ?? [];
      this.#engine.queueTasks(run, connections.map((c) => deliveryOf(c, event.data)));
    }
    this.#engine.timers.armAll(run);
    this.#engine.timers.startLimit(run);
    this.#engine.scheduler.ready(run);
    if (!run.gated) queueMicrotask(() => this.#engine.afterSettle(run));
    return jobState;
  }

  /** A job already "running" (a copy, or recovered) starts running here: counted, recorded. */
  #adoptRunning(run: JobRun, eventName: string, record: Payload): void {
    this.#engine.counted(run, run.counted ? run.job.status : undefined, "running");
    run.counted = true;
    run.job.pushRecord(this.#engine.flowId, eventName, record, this.#engine.clock.now());
    run.job.jobFieldsChanged();
  }

  /**
   * Carries on jobs that a store held as "running" when their process died (`Flow.recover`): each
   * is attached as last committed, records "recovered", and its pending tasks (those that were in
   * flight at the crash included) run again. Every job is checked before any is attached.
   */
  adopt(jobs: readonly JobStateCore[]): void {
    this.#engine.checkOpen("recover");
    for (const job of jobs) {
      this.#engine.checkJob(job, "recover");
      if (job.status !== "running" && job.status !== "paused") {
        throw new JobStateError(`Cannot recover job '${job.jobId}': it is ${job.status}`);
      }
      if (this.#engine.runOf(job) !== undefined) throw new JobStateError(`Cannot recover job '${job.jobId}': it is already attached to this flow`);
      this.#checkRunnable(job);
    }
    for (const job of jobs) {
      const run = this.#engine.attachRun(job);
      this.#engine.gate(run, "recover");
      if (job.status !== "running") {
        this.#engine.counted(run, undefined, job.status);
        run.counted = true;
        continue;
      }
      this.#adoptRunning(run, "recovered", { pendingTasks: run.data.queue.length + (run.data.delayed?.size ?? 0) });
      this.#engine.timers.armAll(run);
      this.#engine.timers.startLimit(run);
      this.#engine.scheduler.ready(run);
      queueMicrotask(() => this.#engine.afterSettle(run));
    }
  }

  /** A job from elsewhere must name only routines, slots and events this flow has. */
  #checkRunnable(job: JobStateCore): void {
    const flow = this.#engine.flow;
    for (const task of job.pendingTasks) {
      const routine = flow.getRoutine(task.routineId);
      if (routine === undefined || routine.getSlot(task.slotName) === undefined) {
        const known = routine === undefined ? flow.routines.keys() : routine.slots.keys();
        const name = routine === undefined ? task.routineId : task.slotName;
        throw new JobStateError(
          `Cannot resume job '${job.jobId}' on flow '${flow.flowId}': pending task ${task.taskId} targets ` +
          `'${task.routineId}.${task.slotName}', which this flow lacks; it has: ${listChoices(name, known)}`,
        );
      }
    }
    for (const event of job.deferredEvents) {
      if (flow.getRoutine(event.routineId)?.getEvent(event.eventName) === undefined) {
        throw new JobStateError(
          `Cannot resume job '${job.jobId}' on flow '${flow.flowId}': deferred event '${event.routineId}.${event.eventName}' ` +
          "names a routine or event this flow lacks",
        );
      }
    }
  }

  async cancel(jobState: JobState, reason: string): Promise<void> {
    const job = this.#engine.checkJob(jobState, "cancel");
    const status = job.status;
    if (status === "cancelled") return;
    if (status !== "running" && status !== "paused") {
      throw new JobStateError(status === "pending"
        ? `Cannot cancel job '${job.jobId}': it has not started (pending); only a running or paused job can be cancelled`
        : `Cannot cancel job '${job.jobId}': it is already ${status}`);
    }
    let run = this.#engine.runOf(job);
    if (run === undefined) {
      if (status === "running" && this.#engine.journal === undefined) {
        throw new JobStateError(`Cannot cancel job '${job.jobId}': it does not run on flow '${this.#engine.flowId}' in this process`);
      }
      run = this.#engine.attachRun(job);
      if (this.#engine.journal !== undefined) await this.#attached(run);
      if (isFinal(job.status)) return;
    }
    const dropped = this.#engine.dropTasks(run);
    this.#engine.timers.stopLimit(run);
    run.data.waitingFor = undefined;
    transition(this.#engine, run, "cancelled", [this.#engine.flowId, "cancelled", { reason, droppedTasks: dropped }]);
    const why = new CancelledError(`Job '${job.jobId}' was cancelled${reason === "" ? "" : `: ${reason}`}`);
    for (const ctx of run.active) ctx.abort(why);
    await this.#flush(job);
  }

  /** Takes a job that runs nowhere (a paused copy) under this process's journal, as a resume would; resolves once the store accepts it. */
  #attached(run: JobRun): Promise<void> {
    return new Promise((resolve, reject) => {
      const journal = this.#engine.journal!;
      journal.attach(run.job, "resume", this.#engine.ownerOf(run)).then(resolve, (error: unknown) => {
        run.data.journal = undefined;
        run.detached = true;
        reject(error);
      });
    });
  }

  /**
   * Hands a job this process runs (or holds paused) back to its store, for another process (a
   * Worker) to carry on: nothing more of it is dispatched here; once its running handlers settle
   * and what they did is durable, its lease is released and the job is let go here (its waiters
   * here are told it was released). Resolves true once handed back; false when it ended or was
   * lost meanwhile, or had nothing left to do (it then completes here).
   */
  async handBack(jobState: JobState): Promise<boolean> {
    const job = this.#engine.checkJob(jobState, "hand back");
    const run = this.#engine.runOf(job);
    if (run === undefined || this.#engine.journal === undefined || isFinal(job.status)) return false;
    if (run.gated) {
      await run.attached?.catch(() => undefined);
      if (this.#engine.runOf(job) !== run || isFinal(job.status)) return false;
    }
    run.gated = true;
    await this.#idle(run);
    if (run.detached || isFinal(job.status)) return false;
    const data = run.data;
    if (job.status === "running" && data.queue.length === 0 && (data.delayed?.size ?? 0) === 0) {
      run.gated = false;
      this.#engine.afterSettle(run);
      return false;
    }
    await this.handOver(run);
    return true;
  }

  /** Lets a run go to the store: it stops here, and its lease is released once its state is durable. */
  async handOver(run: JobRun): Promise<void> {
    const engine = this.#engine;
    engine.timers.stopLimit(run);
    engine.timers.clearDelays(run);
    run.job.jobFieldsChanged();
    run.detached = true;
    engine.forget(run);
    const data = run.data;
    try {
      await engine.journal!.handBack(run.job);
    } catch (error) {
      const reason = error instanceof Error ? error : new Error(String(error));
      data.lost = reason;
      releaseWaiters(data, reason);
      throw reason;
    }
    releaseWaiters(data);
  }

  /** `flow.answer`: delivers an answer to a slot the job waits for, resuming it once nothing else is waited for. */
  async answer(jobState: JobState, routineId: string, slotName: string, data: Payload): Promise<void> {
    const job = this.#engine.checkJob(jobState, "answer");
    this.#engine.checkOpen("answer");
    const value = await this.#engine.inputs.validate(job, routineId, slotName, data);
    let run = this.#engine.runOf(job);
    if (run === undefined) {
      if (job.status === "running") {
        throw new JobStateError(`Cannot answer job '${job.jobId}': it runs, but not on flow '${this.#engine.flowId}' in this process`);
      }
      run = this.#engine.attachRun(job);
      if (this.#engine.journal !== undefined) await this.#attached(run);
    }
    if (this.#engine.inputs.answer(run, routineId, slotName, value) && run.job.status === "paused") this.resume(jobState);
    await this.#flush(job);
  }
}
