import type { Flow } from "../api/flow.js";
import type { JobState } from "../api/job-state.js";
import type { Clock } from "../core/clock.js";
import { outsideContext } from "../core/context.js";
import { CancelledError, FlowDefinitionError, JobStateError, RoutiluxError, TimeoutError, listChoices } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { kJobData } from "../state/job-data.js";
import type { JobStatus } from "../state/job-snapshot.js";
import { JobStateCore } from "../state/job-state.js";
import type { AttachMode, JobJournal, JobOwner } from "../state/journal.js";
import type { PendingTask } from "../state/task.js";
import type { TaskContext} from "./activation.js";
import { detachedCancel, detachedDelivery, detachedEmit, type DetachedHost } from "./detached.js";
import { Dispatcher, type DispatchHost } from "./dispatcher.js";
import { FlowEvents, type FlowEvent, type FlowEventFilter } from "./events.js";
import type { ExecutionTracker } from "./execution-tracker.js";
import { Inputs, type InputsHost } from "./inputs.js";
import { JobControl, insideHandler, type ControlHost } from "./job-control.js";
import { JobRun, type RunOwner } from "./job-run.js";
import { REST_OUTCOMES, RESTED_OR_NOT, isFinal, releaseWaiters, transition, waitToRest, wakeWaiters, type LifecycleHost } from "./lifecycle.js";
import { Ownership, type OwnershipHost } from "./ownership.js";
import { Scheduler } from "./scheduler.js";
import { Timers } from "./timers.js";

/** How many ended jobs an engine remembers for `events({ jobId })` (a power of two). */
const ENDED_REMEMBERED = 1024;

/**
 * The engine of one flow: it wires the scheduler (worker pool, fairness, time slices), the
 * dispatcher (one activation), the timers, the live events, the inputs jobs wait for and the
 * hold on jobs a store persists (ownership), and carries each job through its lifecycle: start,
 * pause, resume, cancel, recovery, the end.
 * Control calls made from inside a handler never wait for handlers: they mark the job and return;
 * running handlers are told through `ctx.signal`.
 * @internal
 */
export class Engine implements LifecycleHost, RunOwner, DispatchHost, InputsHost, ControlHost, OwnershipHost, DetachedHost {
  readonly flow: Flow;
  readonly clock: Clock;
  readonly tracker: ExecutionTracker;
  journal: JobJournal | undefined;
  /**
   * Runs no job here: a job started, resumed or answered on this engine is handed to its store
   * as soon as the store holds it, for a Worker to carry on (`runJobs: "workers"`).
   */
  handsOff = false;
  readonly scheduler: Scheduler;
  readonly dispatcher: Dispatcher;
  readonly timers: Timers;
  readonly events = new FlowEvents();
  readonly inputs: Inputs;
  readonly control: JobControl;
  readonly ownership: Ownership;
  /** Jobs running in this process (not paused, ended or let go). */
  readonly #active = new Set<JobRun>();
  /**
   * The ids of the jobs that ended here lately, so `events({ jobId })` of one ends at once: a ring
   * in the order they ended, the oldest forgotten first. Written once a job, searched only by that call.
   */
  readonly #endedRing = new Array<string | undefined>(ENDED_REMEMBERED).fill(undefined);
  #endedNext = 0;
  /** With a journal: the jobs attached here that have not ended (running or held paused), by id. */
  readonly #held = new Map<string, JobRun>();
  #closed = false;
  /** The shutdown under way or done. */
  #stopping: Promise<void> | undefined;

  constructor(flow: Flow, clock: Clock, maxWorkers: number, tracker: ExecutionTracker) {
    this.flow = flow;
    this.clock = clock;
    this.tracker = tracker;
    this.dispatcher = new Dispatcher(this);
    this.scheduler = new Scheduler(maxWorkers, this.dispatcher.dispatch);
    this.timers = new Timers(clock, (run, task) => this.#due(run, task), (run) => this.#timedOut(run));
    this.inputs = new Inputs(this);
    this.control = new JobControl(this);
    this.ownership = new Ownership(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- LifecycleHost

  get flowId(): string {
    return this.flow.flowId;
  }

  now(): number {
    return this.clock.now();
  }

  counted(run: JobRun, from: JobStatus | undefined, to: JobStatus): void {
    this.tracker.jobStatus(from, to);
    if (to === "running") {
      this.#active.add(run);
      return;
    }
    this.#active.delete(run);
    if (isFinal(to)) {
      this.#unhold(run);
      const at = this.#endedNext;
      this.#endedRing[at] = run.job.jobId;
      this.#endedNext = (at + 1) & (ENDED_REMEMBERED - 1);
    }
  }

  /**
   * `flow.events()`: with a job id, an iterator that ends at once for a job that ended here, and
   * whose first event is the job's status for a job running here that has had no event yet.
   */
  jobEvents(filter: FlowEventFilter & { signal?: AbortSignal }): AsyncIterableIterator<FlowEvent> {
    const jobId = filter.jobId;
    if (jobId === undefined) return this.events.events(filter);
    const iterator = this.events.events(filter, this.#endedRing.includes(jobId));
    for (const run of this.#active) {
      if (run.job.jobId === jobId && run.data.eventSeq === 0) this.events.status(run.job, "running", this.clock.now());
    }
    return iterator;
  }

  statusEvent(run: JobRun, to: JobStatus, atMs: number): void {
    if (!this.events.active) return;
    const journal = run.data.journal;
    if (journal === undefined || !isFinal(to)) {
      this.events.status(run.job, to, atMs);
      return;
    }
    // With a store, listeners hear that a job ended once the store holds it so: never before, and
    // never when it cannot (then they hear that this process lost the job, and why).
    journal.flush(run.job).then(
      () => this.events.status(run.job, to, atMs),
      (error: unknown) => this.events.lost(run.job, error, this.clock.now()),
    );
  }

  forget(run: JobRun): void {
    this.#active.delete(run);
    this.#unhold(run);
  }

  #unhold(run: JobRun): void {
    if (this.#held.get(run.job.jobId) === run) this.#held.delete(run.job.jobId);
  }

  /** The job of that id attached here and not ended (with a journal only: without one, nothing finds a job by id). */
  held(jobId: string): JobStateCore | undefined {
    const run = this.#held.get(jobId);
    if (run === undefined) return undefined;
    if (run.detached || isFinal(run.job.status)) {
      this.#held.delete(jobId);
      return undefined;
    }
    return run.job;
  }

  // ---------------------------------------------------------------- starting

  execute(entryRoutineId: string, entryParams: Payload, job: JobStateCore): void {
    this.checkOpen("execute");
    const routine = this.flow.requireRoutine(entryRoutineId, "entry");
    if (routine.getSlot("trigger") === undefined) {
      throw new FlowDefinitionError(
        `Entry routine '${entryRoutineId}' has no 'trigger' slot; its slots are: ${listChoices("trigger", routine.slots.keys())}. ` +
        "Define one with this.defineSlot(\"trigger\", handler)",
      );
    }
    const run = this.attachRun(job);
    const data = run.data;
    data.createdAtMs = this.clock.now();
    data.queue.push({ taskId: data.nextTaskId++, routineId: entryRoutineId, slotName: "trigger", data: entryParams, attempt: 1 });
    this.gate(run, "start");
    transition(this, run, "running", [entryRoutineId, "start", entryParams]);
    this.timers.startLimit(run);
    this.scheduler.ready(run);
  }

  /** Attaches a job to this engine (a new run, unless it is attached here already). */
  attachRun(job: JobStateCore): JobRun {
    const data = job[kJobData];
    const existing = data.run as JobRun | undefined;
    if (existing !== undefined && !existing.detached) {
      if (existing.engine === this) return existing;
      if (data.inFlight.length > 0) {
        throw new JobStateError(`Job '${job.jobId}' still has handlers running on another Flow instance; wait for them before moving it`);
      }
      existing.detached = true;
      existing.engine.forget(existing);
    }
    const run = new JobRun(this, job, data);
    data.run = run;
    if (this.journal !== undefined) this.#held.set(job.jobId, run);
    data.clock = this.clock;
    data.observer = this.events;
    data.lost = undefined;
    return run;
  }

  /** Holds a run back until the store accepts it (see `Ownership.gate`). */
  gate(run: JobRun, mode: AttachMode): void {
    this.ownership.gate(run, mode);
  }

  /** What the journal tells about a run's job (see `Ownership.ownerOf`). */
  ownerOf(run: JobRun): JobOwner {
    return this.ownership.ownerOf(run);
  }

  /** The job's lease may have expired (see `Ownership.holdForLease`); called only past the lease's end. */
  holdForLease(run: JobRun, task: PendingTask): boolean {
    return this.ownership.holdForLease(run, task);
  }

  // ---------------------------------------------------------------- running and ending

  /** After a handler settled, or the job changed: end it when nothing of it is left, else wake its waiters. */
  afterSettle(run: JobRun): void {
    const data = run.data;
    if (run.idleWaiters !== undefined && data.inFlight.length === 0) {
      const waiters = run.idleWaiters;
      run.idleWaiters = undefined;
      for (const wake of waiters) wake();
    }
    if (run.runnable && data.inFlight.length === 0 && data.queue.length === 0 && (data.delayed?.size ?? 0) === 0) {
      this.#complete(run);
    } else {
      if (run.job.status === "paused" && data.inFlight.length === 0) run.job.compact();
      wakeWaiters(run);
    }
  }

  #complete(run: JobRun): void {
    let failed: string[] | undefined;
    const states = run.job.routineStates;
    for (const id in states) {
      const status = states[id]!.status;
      if (status === "failed" || status === "error") (failed ??= []).push(id);
    }
    const status: JobStatus = failed === undefined ? "completed" : "failed";
    this.timers.stopLimit(run);
    transition(this, run, status, [this.flowId, status, failed === undefined ? {} : { failedRoutines: failed }]);
  }

  /**
   * Fails the job (running, or paused with a handler from before the pause still in flight): its
   * queue and delayed tasks are dropped, it waits for no input, running handlers are told to stop.
   */
  failJob(run: JobRun, routineId: string, reason: string, errorType: string, cause?: Error): void {
    const dropped = this.dropTasks(run);
    this.timers.stopLimit(run);
    run.data.waitingFor = undefined;
    transition(this, run, "failed", [this.flowId, "failed", { routineId, error: reason, errorType, droppedTasks: dropped }]);
    const why = cause ?? new CancelledError(`Job '${run.job.jobId}' failed: ${reason}`);
    for (const ctx of run.active) ctx.abort(why);
  }

  dropTasks(run: JobRun): number {
    const data = run.data;
    const dropped = data.queue.length + (data.delayed?.size ?? 0);
    data.queue.clear();
    data.delayed = undefined;
    this.timers.clearDelays(run);
    run.job.tasksChanged([], true);
    return dropped;
  }

  #timedOut(run: JobRun): void {
    if (!run.runnable) return;
    this.timers.stopLimit(run);
    const job = run.job;
    const limit = run.data.timeoutMs ?? 0;
    const running = run.active.map((ctx) => ctx.routineId);
    const first = running[0] ?? job.currentRoutineId ?? this.flowId;
    job.pushRecord(first, "timeout", { timeoutMs: limit, running: [...new Set(running)] }, this.clock.now());
    const why = new TimeoutError(`Job '${job.jobId}' ran past its time limit of ${limit} ms`);
    this.failJob(run, first, `job timed out after ${limit} ms`, "TimeoutError", why);
  }

  /** A delayed task's time came. */
  #due(run: JobRun, task: PendingTask): void {
    run.data.queue.push(task);
    this.scheduler.ready(run);
  }

  /** Queues tasks outside any activation (deferred events, detached emits, answers) and notes them for the journal. */
  queueTasks(run: JobRun, tasks: readonly PendingTask[]): void {
    const data = run.data;
    for (const task of tasks) {
      if (task.taskId === 0) (task as { taskId: number }).taskId = data.nextTaskId++;
      data.queue.push(task);
    }
    run.job.tasksChanged(tasks, false);
    if (run.runnable) this.scheduler.ready(run);
  }

  /** An emit from a continuation that outlived its handler (see `detachedEmit`). */
  emitDetached(run: JobRun, routineId: string, eventName: string, data: Payload): void {
    detachedEmit(this, run, routineId, eventName, data);
  }

  /** A `deliverLater` from a continuation that outlived its handler. */
  deliverDetached(run: JobRun, task: PendingTask): void {
    detachedDelivery(this, run, task);
  }

  /** A `cancelDelivery` from a continuation that outlived its handler. */
  cancelDetached(run: JobRun, routineId: string, key: string): void {
    detachedCancel(this, run, routineId, key);
  }

  /** `ctx.waitForInput`. */
  requestInput(ctx: TaskContext, request: { slot: string; prompt?: string; schema?: object; group?: string }): void {
    this.inputs.request(ctx, request);
  }

  // ---------------------------------------------------------------- control of one job

  checkJob(job: unknown, operation: string): JobStateCore {
    if (!(job instanceof JobStateCore)) {
      throw new RoutiluxError(`${operation} expects a JobState, got ${job === null ? "null" : typeof job}`);
    }
    if (job.flowId !== this.flowId) {
      throw new JobStateError(`Job '${job.jobId}' belongs to flow '${job.flowId}', not to flow '${this.flowId}'; ${operation} it on its own flow`);
    }
    return job;
  }

  checkOpen(operation: string): void {
    if (this.#closed) throw new RoutiluxError(`Flow '${this.flowId}' is shut down; ${operation} is no longer possible`);
  }

  /** The job's run on this engine, when it runs here. */
  runOf(job: JobStateCore): JobRun | undefined {
    const run = job[kJobData].run as JobRun | undefined;
    return run !== undefined && run.engine === this && !run.detached ? run : undefined;
  }

  /** Pauses a running job: nothing more is dispatched, its timers stop; it rests once its handlers settle. */
  pauseRun(run: JobRun, by: string, reason: string, checkpoint: Payload | undefined, details?: Payload): void {
    this.timers.stopLimit(run);
    this.timers.clearDelays(run);
    run.job.addPausePoint(this.clock.now(), reason, checkpoint);
    transition(this, run, "paused", [by, "paused", details === undefined ? { reason } : { reason, ...details }]);
  }

  /** Waits for the job to rest (see `waitToRest`). */
  wait(jobState: JobState, timeoutMs: number | undefined, operation = "waitForCompletion"): Promise<"rested" | "timeout" | "released"> {
    return waitToRest(this.checkJob(jobState, operation), timeoutMs, this.clock, REST_OUTCOMES);
  }

  /** As {@link wait}, resolving whether the job rested (`waitForCompletion`). */
  waitRested(jobState: JobState, timeoutMs: number | undefined): Promise<boolean> {
    return waitToRest(this.checkJob(jobState, "waitForCompletion"), timeoutMs, this.clock, RESTED_OR_NOT);
  }

  /** Resolves once the store has accepted the job (at once without a store); rejects with what refused it. */
  attached(jobState: JobState): Promise<void> {
    // A run handed to the store (handsOff) is let go once its lease is released: that is part of being attached.
    const run = this.checkJob(jobState, "start")[kJobData].run as JobRun | undefined;
    return run !== undefined && run.engine === this ? run.attached ?? Promise.resolve() : Promise.resolve();
  }

  /**
   * Stops scheduling, tells running handlers to stop, waits for them (unless called from one) for
   * at most `graceMs`, writes what is buffered and hands back the leases of jobs left running, so
   * another process can carry them on at once. Their waiters resolve `false`: the jobs will not rest
   * here. A handler still running after the grace period is left behind: what it does later is not
   * applied, and its task runs again wherever the job is recovered. A later call from outside any
   * handler resolves when the first one does; from a handler, it resolves at once.
   */
  shutdown(graceMs = 30_000): Promise<void> {
    if (this.#stopping === undefined) this.#stopping = this.#shutdown(graceMs);
    else if (insideHandler()) return Promise.resolve();
    return this.#stopping;
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#closed = true;
    this.scheduler.close();
    const why = new CancelledError(`Flow '${this.flowId}' is shutting down`);
    for (const run of this.#active) {
      this.timers.clearDelays(run);
      this.timers.stopLimit(run);
      for (const ctx of run.active) ctx.abort(why);
    }
    if (!insideHandler()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = outsideContext(() => setTimeout(resolve, graceMs));
      });
      await Promise.race([this.scheduler.whenIdle(), grace]);
      clearTimeout(timer);
    }
    const left = [...this.#active];
    for (const run of left) run.detached = true;
    if (this.journal !== undefined) {
      await this.journal.flush().catch(() => undefined);
      await this.journal.release(this).catch(() => undefined);
    }
    for (const run of left) releaseWaiters(run.data);
    this.#active.clear();
    this.#held.clear();
  }
}
