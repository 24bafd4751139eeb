import type { Clock, TimerHandle } from "../core/clock.js";
import { contextStorage, currentContext, type ActiveContext } from "../core/context.js";
import { ErrorHandler, ErrorStrategy } from "../core/error-handler.js";
import { FlowDefinitionError, JobStateError, RoutiluxError, describeError, listChoices, showValue } from "../core/errors.js";
import type { Connection } from "../core/connection.js";
import type { Routine } from "../core/routine.js";
import { mergeSlotData, type Payload, type SlotHandler } from "../core/slot.js";
import { Deque } from "../state/deque.js";
import type { JobStatus } from "../state/job-snapshot.js";
import { JobState, kJobData, slotKey, type JobData } from "../state/job-state.js";
import type { PendingTask } from "../state/task.js";
import type { ExecutionTracker } from "./execution-tracker.js";
import type { Flow } from "./flow.js";
import { JobRun, TaskContext } from "./job-run.js";
import type { Journal } from "./journal.js";

const STOP = new ErrorHandler();
/** The async context of code that runs for no handler. */
const NO_CONTEXT = undefined as unknown as ActiveContext;
/** A synchronous drain yields to the event loop after this long, so timers and I/O are served. */
const SLICE_MS = 10;

function callHandler(handler: SlotHandler, routine: Routine, data: Payload, ctx: TaskContext): unknown {
  return handler.call(routine, data, ctx);
}

/** The task that delivers an event's data through one connection, numbered in the job. */
function deliveryOf(jobData: JobData, connection: Connection, data: Payload): PendingTask {
  return {
    taskId: jobData.nextTaskId++,
    routineId: connection.targetRoutineId,
    slotName: connection.targetSlot,
    data: connection.mapParams(data),
    connectionId: connection.id,
    attempt: 1,
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}

/**
 * The engine of one flow: a worker pool shared by all its jobs (at most `maxWorkers` handlers at
 * once), jobs served round robin, one dispatch path for every activation (entry, ordinary,
 * retried, resumed), the error policy, completion, pause, resume and cancel.
 * @internal
 */
export class Engine {
  readonly flow: Flow;
  readonly clock: Clock;
  readonly tracker: ExecutionTracker;
  journal: Journal | undefined;
  #maxWorkers: number;
  #running = 0;
  /** Jobs with queued tasks, served one task per turn. */
  readonly #ready = new Deque<JobRun>(16);
  /** Jobs running in this process (not paused or ended). */
  readonly #active = new Set<JobRun>();
  #scheduled = false;
  #draining = false;
  #closed = false;
  #idleWaiters: Array<() => void> = [];
  readonly #drainNow = (): void => this.#drain();
  /**
   * Drains outside any handler's async context (a drain kicked from a handler would otherwise run,
   * and settle other tasks, inside it): what the scheduler does is no handler's doing, and a store
   * attributes changes by it. `run(undefined)` rather than `exit()`, which toggles async hooks.
   */
  readonly #drainCallback = (): void => contextStorage.run(NO_CONTEXT, this.#drainNow);

  constructor(flow: Flow, clock: Clock, maxWorkers: number, tracker: ExecutionTracker) {
    this.flow = flow;
    this.clock = clock;
    this.#maxWorkers = maxWorkers;
    this.tracker = tracker;
  }

  set maxWorkers(value: number) {
    this.#maxWorkers = value;
    this.#kick();
  }

  /** Handlers running now, across all jobs. */
  get running(): number {
    return this.#running;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- starting and scheduling

  execute(entryRoutineId: string, entryParams: Payload, job: JobState): JobState {
    this.#checkOpen("execute");
    const routine = this.flow.requireRoutine(entryRoutineId, "entry");
    if (routine.getSlot("trigger") === undefined) {
      throw new FlowDefinitionError(
        `Entry routine '${entryRoutineId}' has no 'trigger' slot; its slots are: ${listChoices("trigger", routine.slots.keys())}. ` +
        "Define one with this.defineSlot(\"trigger\", handler)",
      );
    }
    const run = this.#attach(job);
    const data = run.data;
    const now = this.clock.now();
    data.createdAtMs = now;
    this.#setStatus(run, "running");
    job.pushRecord(entryRoutineId, "start", entryParams, now);
    data.queue.push({ taskId: data.nextTaskId++, routineId: entryRoutineId, slotName: "trigger", data: entryParams, attempt: 1 });
    this.journal?.jobChanged(job);
    this.#armTimeout(run);
    this.#schedule(run);
    return job;
  }

  #attach(job: JobState): JobRun {
    const data = job[kJobData];
    const existing = data.run as JobRun | undefined;
    if (existing !== undefined && existing.engine === this) return existing;
    if (existing !== undefined && existing.inFlight > 0) {
      throw new JobStateError(`Job '${job.jobId}' still has handlers running on another Flow instance; wait for them before moving it`);
    }
    this.journal?.attach(job);
    const run = new JobRun(this, job, data);
    data.run = run;
    data.clock = this.clock;
    return run;
  }

  #schedule(run: JobRun): void {
    if (!run.queued && run.data.queue.length > 0) {
      run.queued = true;
      this.#ready.push(run);
    }
    this.#kick();
  }

  #kick(): void {
    if (!this.#scheduled && !this.#draining) {
      this.#scheduled = true;
      queueMicrotask(this.#drainCallback);
    }
  }

  #drain(): void {
    this.#scheduled = false;
    if (this.#draining || this.#closed) return;
    this.#draining = true;
    const ready = this.#ready;
    let sliceEnd = 0;
    let count = 0;
    try {
      while (this.#running < this.#maxWorkers) {
        const run = ready.shift();
        if (run === undefined) break;
        run.queued = false;
        if (run.job.status !== "running") continue;
        const task = run.data.queue.shift();
        if (task === undefined) continue;
        if (run.data.queue.length > 0) {
          run.queued = true;
          ready.push(run);
        }
        this.#dispatch(run, task);
        // The time slice starts counting after the first 128 tasks: most drains are shorter.
        if ((++count & 127) === 0 && (sliceEnd === 0 ? ((sliceEnd = performance.now() + SLICE_MS), false) : performance.now() > sliceEnd)) {
          if (ready.length > 0) {
            this.#scheduled = true;
            setImmediate(this.#drainCallback);
          }
          break;
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  // ---------------------------------------------------------------- one activation

  #dispatch(run: JobRun, task: PendingTask): void {
    const job = run.job;
    const routine = this.flow.routines.get(task.routineId);
    const slot = routine?.getSlot(task.slotName);
    const now = this.clock.now();
    if (routine === undefined || slot === undefined) {
      // Only a task from a document can name what the flow lacks; resume checks, so this is a bug guard.
      this.#fail(run, task.routineId, `task ${task.taskId} names slot '${task.routineId}.${task.slotName}', which flow '${this.flow.flowId}' lacks`);
      return;
    }
    this.#running++;
    run.data.inFlight.push(task);
    job.currentRoutineId = task.routineId;
    job.setRoutineStatus(task.routineId, "running");
    const ctx = new TaskContext(run, routine, task, now);
    let input = task.data;
    const strategy = slot.mergeStrategy;
    if (strategy !== "override") {
      const key = slotKey(task.routineId, task.slotName);
      const buffers = (run.data.slotBuffers ??= new Map<string, Payload>());
      ctx.previousBuffer = buffers.get(key);
      try {
        input = mergeSlotData(strategy, ctx.previousBuffer, task.data);
      } catch (error) {
        this.#settle(ctx, error, false);
        return;
      }
      buffers.set(key, input);
      run.data.tracker?.slotBuffer(key, task);
    }
    const handler = slot.handler;
    if (handler === undefined) {
      this.#settle(ctx, undefined, true);
      return;
    }
    let result: unknown;
    try {
      result = contextStorage.run(ctx, callHandler, handler, routine, input, ctx);
    } catch (error) {
      this.#settle(ctx, error, false);
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => this.#settleAsync(ctx, undefined, true),
        (error: unknown) => this.#settleAsync(ctx, error, false),
      );
    } else {
      this.#settle(ctx, undefined, true);
    }
  }

  #settleAsync(ctx: TaskContext, error: unknown, ok: boolean): void {
    // Settling may queue tasks; the drain below runs them, so no microtask need be kicked.
    const wasDraining = this.#draining;
    this.#draining = true;
    try {
      this.#settle(ctx, error, ok);
    } finally {
      this.#draining = wasDraining;
    }
    this.#drain();
  }

  /** A handler settled: record it, deliver or discard its emits, apply the error policy. */
  #settle(ctx: TaskContext, error: unknown, ok: boolean): void {
    const run = ctx.run;
    const job = run.job;
    const data = run.data;
    const routineId = ctx.routineId;
    ctx.done = true;
    this.#running--;
    const inFlight = data.inFlight;
    const at = inFlight.lastIndexOf(ctx.task);
    if (at >= 0) {
      inFlight[at] = inFlight[inFlight.length - 1]!;
      inFlight.pop();
    }
    const now = this.clock.now();
    this.tracker.activation(routineId, now - ctx.startedAt, ok);
    data.updatedAtMs = now;
    const status = job.status;
    if (status === "running" || status === "paused") {
      let added: readonly PendingTask[] = ctx.emitted ?? [];
      if (ok) {
        job.setRoutineStatus(routineId, "completed");
        for (let i = 0; i < added.length; i++) this.#enqueue(run, added[i]!);
      } else {
        added = this.#onFailure(ctx, error, now);
      }
      this.journal?.taskSettled(job, ctx, added);
    } else {
      // The job ended while this handler ran: no policy, no emits, but its outcome is recorded.
      const state = job.liveRoutineState(routineId);
      if (ok) {
        state.status = "completed";
      } else {
        const { message, type } = describeError(error);
        state.status = "failed";
        state.error = message;
        state.errorType = type;
        const record = { slot: ctx.task.slotName, error: message, errorType: type, attempt: ctx.task.attempt, afterEnd: true };
        job.pushRecord(routineId, "error", record, now);
      }
      job.changedRoutineState(routineId);
      this.journal?.jobChanged(job);
    }
    this.#afterSettle(run);
  }

  #afterSettle(run: JobRun): void {
    if (run.idleWaiters !== undefined) this.#wakeIdle(run);
    if (this.#running === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
    const data = run.data;
    if (run.job.status === "running" && this.#drained(run)) {
      this.#complete(run);
    } else if (run.job.status === "paused" && run.inFlight === 0 && data.waiters !== undefined) {
      this.#notify(run);
    }
  }

  /** Nothing of the job is queued, waiting or running: it can end. */
  #drained(run: JobRun): boolean {
    const data = run.data;
    return data.inFlight.length === 0 && data.queue.length === 0 && (data.delayed?.size ?? 0) === 0;
  }

  #enqueue(run: JobRun, task: PendingTask): void {
    run.data.queue.push(task);
    if (!run.queued && run.job.status === "running") {
      run.queued = true;
      this.#ready.push(run);
      if (!this.#draining) this.#kick();
    }
  }

  /** Applies the error policy to a failed activation; returns the tasks it added (a retry). */
  #onFailure(ctx: TaskContext, error: unknown, now: number): PendingTask[] {
    const run = ctx.run;
    const job = run.job;
    const task = ctx.task;
    const routineId = ctx.routineId;
    if (ctx.previousBuffer !== undefined || run.data.slotBuffers?.has(slotKey(routineId, task.slotName))) {
      // A failed activation leaves the slot buffer as it found it.
      const key = slotKey(routineId, task.slotName);
      if (ctx.previousBuffer === undefined) run.data.slotBuffers?.delete(key);
      else run.data.slotBuffers?.set(key, ctx.previousBuffer);
      run.data.tracker?.slotBuffer(key, task);
    }
    const handler = ctx.routine.getErrorHandler() ?? this.flow.errorHandler ?? STOP;
    const { message, type } = describeError(error);
    const record: Payload = { slot: task.slotName, error: message, errorType: type, attempt: task.attempt, strategy: handler.strategy };
    if (handler.isCritical) record.critical = true;
    const discarded = ctx.emitted?.length ?? 0;
    if (discarded > 0) record.discardedEmits = discarded;
    job.pushRecord(routineId, "error", record, now);
    const state = job.liveRoutineState(routineId);
    state.error = message;
    state.errorType = type;
    switch (handler.strategy) {
      case ErrorStrategy.CONTINUE:
        state.status = "error_continued";
        job.changedRoutineState(routineId);
        return [];
      case ErrorStrategy.SKIP:
        state.status = "skipped";
        job.changedRoutineState(routineId);
        job.pushRecord(routineId, "skipped", { slot: task.slotName }, now);
        return [];
      case ErrorStrategy.RETRY:
        if (task.attempt <= handler.maxRetries && handler.isRetryable(error)) {
          const delayMs = handler.delayAfter(task.attempt);
          const retry: PendingTask = {
            taskId: run.data.nextTaskId++,
            routineId,
            slotName: task.slotName,
            data: task.data,
            connectionId: task.connectionId,
            attempt: task.attempt + 1,
            notBefore: now + delayMs,
          };
          state.status = "running";
          job.changedRoutineState(routineId);
          job.pushRecord(routineId, "retry", { slot: task.slotName, attempt: retry.attempt, delayMs }, now);
          this.tracker.retry(routineId);
          this.#delay(run, retry);
          return [retry];
        }
        break;
      default:
        break;
    }
    state.status = "failed";
    job.changedRoutineState(routineId);
    this.#fail(run, routineId, message);
    return [];
  }

  /** Holds a retry until its `notBefore`, without holding a worker. */
  #delay(run: JobRun, task: PendingTask): void {
    (run.data.delayed ??= new Map()).set(task.taskId, task);
    if (run.job.status === "running") this.#armRetry(run, task);
  }

  #armRetry(run: JobRun, task: PendingTask): void {
    const wait = Math.max(0, (task.notBefore ?? 0) - this.clock.now());
    const timer = this.clock.setTimeout(() => {
      run.retryTimers?.delete(task.taskId);
      if (run.data.delayed?.delete(task.taskId) !== true) return;
      this.#enqueue(run, task);
    }, wait);
    (run.retryTimers ??= new Map()).set(task.taskId, timer);
  }

  #clearRetryTimers(run: JobRun): void {
    if (run.retryTimers === undefined) return;
    for (const timer of run.retryTimers.values()) this.clock.clearTimeout(timer);
    run.retryTimers = undefined;
  }

  // ---------------------------------------------------------------- emits

  /** An emit from a handler: recorded now, delivered when the handler succeeds. */
  emit(ctx: TaskContext, routineId: string, eventName: string, data: Payload): void {
    const run = ctx.run;
    const job = run.job;
    const status = job.status;
    if (status !== "running" && status !== "paused") return;
    job.pushRecord(routineId, eventName, data, this.clock.now());
    const connections = this.flow.outgoing(routineId, eventName);
    if (connections === undefined) return;
    for (let i = 0; i < connections.length; i++) {
      const task = deliveryOf(run.data, connections[i]!, data);
      if (ctx.done) this.#enqueue(run, task);
      else (ctx.emitted ??= []).push(task);
    }
    // After its handler settled (a detached continuation): the tasks are queued now, so commit them now.
    if (ctx.done) this.journal?.jobChanged(job);
  }

  /** An emit outside any handler (a deferred event on resume): recorded and queued at once. */
  #emitNow(run: JobRun, routineId: string, eventName: string, data: Payload): void {
    const job = run.job;
    job.pushRecord(routineId, eventName, data, this.clock.now());
    for (const c of this.flow.outgoing(routineId, eventName) ?? []) run.data.queue.push(deliveryOf(run.data, c, data));
  }

  // ---------------------------------------------------------------- ending

  #setStatus(run: JobRun, status: JobStatus): void {
    const job = run.job;
    const from = job.status;
    job.status = status;
    run.data.updatedAtMs = this.clock.now();
    this.tracker.jobStatus(run.counted ? from : undefined, status);
    run.counted = true;
    if (status === "running") this.#active.add(run);
    else this.#active.delete(run);
  }

  #complete(run: JobRun): void {
    const job = run.job;
    let failed: string[] | undefined;
    const states = job.routineStates;
    for (const id in states) {
      const routineStatus = states[id]!.status;
      if (routineStatus === "failed" || routineStatus === "error") (failed ??= []).push(id);
    }
    const status: JobStatus = failed === undefined ? "completed" : "failed";
    this.#stopTimeout(run);
    this.#setStatus(run, status);
    job.pushRecord(this.flow.flowId, status, failed === undefined ? {} : { failedRoutines: failed }, this.clock.now());
    this.journal?.jobChanged(job);
    this.#notify(run);
  }

  /** Fails the job: its queue and waiting retries are dropped, and it ends "failed". */
  #fail(run: JobRun, routineId: string, reason: string): void {
    const job = run.job;
    const dropped = this.#dropTasks(run);
    this.#stopTimeout(run);
    this.#setStatus(run, "failed");
    job.pushRecord(this.flow.flowId, "failed", { routineId, error: reason, droppedTasks: dropped }, this.clock.now());
    this.journal?.jobChanged(job);
    this.#notify(run);
  }

  #dropTasks(run: JobRun): number {
    const data = run.data;
    const dropped = data.queue.length + (data.delayed?.size ?? 0);
    data.queue.clear();
    data.delayed = undefined;
    this.#clearRetryTimers(run);
    return dropped;
  }

  /** Tells the job's waiters that it rests, once what it did is durable. */
  #notify(run: JobRun): void {
    const data = run.data;
    const waiters = data.waiters;
    if (waiters === undefined) return;
    data.waiters = undefined;
    const wake = (): void => {
      for (const waiter of waiters) waiter(true);
    };
    if (this.journal === undefined) wake();
    else this.journal.flush().then(wake, wake);
  }

  #armTimeout(run: JobRun): void {
    const limit = run.data.timeoutMs;
    if (limit === undefined) return;
    run.runningSince = this.clock.now();
    const remaining = Math.max(0, limit - run.data.runningMs);
    run.timeoutTimer = this.clock.setTimeout(() => {
      run.timeoutTimer = undefined;
      if (run.job.status !== "running") return;
      this.#stopTimeout(run);
      const job = run.job;
      const runningIds = Object.entries(job.routineStates).filter(([, s]) => s.status === "running").map(([id]) => id);
      const first = runningIds[0] ?? job.currentRoutineId ?? this.flow.flowId;
      job.pushRecord(first, "timeout", { timeoutMs: limit, running: runningIds }, this.clock.now());
      this.#fail(run, first, `job timed out after ${limit} ms`);
    }, remaining);
  }

  #stopTimeout(run: JobRun): void {
    if (run.timeoutTimer === undefined) return;
    this.clock.clearTimeout(run.timeoutTimer);
    run.timeoutTimer = undefined;
    run.data.runningMs += this.clock.now() - run.runningSince;
  }

  // ---------------------------------------------------------------- control of one job

  #checkJob(job: unknown, operation: string): JobState {
    if (!(job instanceof JobState)) {
      throw new RoutiluxError(`${operation} expects a JobState, got ${job === null ? "null" : typeof job}`);
    }
    if (job.flowId !== this.flow.flowId) {
      throw new JobStateError(
        `Job '${job.jobId}' belongs to flow '${job.flowId}', not to flow '${this.flow.flowId}'; ${operation} it on its own flow`,
      );
    }
    return job;
  }

  #checkOpen(operation: string): void {
    if (this.#closed) throw new RoutiluxError(`Flow '${this.flow.flowId}' is shut down; ${operation} is no longer possible`);
  }

  /** How many handlers of `run` the caller itself is (1 when called from one of its handlers). */
  #selfCount(run: JobRun): number {
    const ctx = currentContext();
    return ctx instanceof TaskContext && ctx.run === run && !ctx.done ? 1 : 0;
  }

  #waitIdle(run: JobRun, threshold: number): Promise<void> {
    if (run.inFlight <= threshold) return Promise.resolve();
    return new Promise((resolve) => (run.idleWaiters ??= []).push({ threshold, resolve }));
  }

  #wakeIdle(run: JobRun): void {
    const waiters = run.idleWaiters ?? [];
    const keep = waiters.filter((w) => run.inFlight > w.threshold);
    run.idleWaiters = keep.length > 0 ? keep : undefined;
    for (const w of waiters) if (run.inFlight <= w.threshold) w.resolve();
  }

  async pause(jobState: JobState, reason: string, checkpoint: Payload | undefined): Promise<void> {
    const job = this.#checkJob(jobState, "pause");
    if (job.status === "paused") return;
    if (job.status !== "running") {
      throw new JobStateError(`Cannot pause job '${job.jobId}': it is ${job.status}; only a running job can be paused`);
    }
    const run = this.#attach(job);
    const self = this.#selfCount(run);
    const now = this.clock.now();
    this.#stopTimeout(run);
    this.#clearRetryTimers(run);
    this.#setStatus(run, "paused");
    if (checkpoint !== undefined) job.checkpoint = checkpoint;
    job.addPausePoint(now, reason, checkpoint);
    job.pushRecord(self === 1 ? (currentContext()?.routineId ?? this.flow.flowId) : this.flow.flowId, "paused", { reason }, now);
    this.journal?.jobChanged(job);
    await this.#waitIdle(run, self);
    // Paused from one of its own handlers: the job rests (and its waiters wake) when that handler settles.
    if (run.inFlight === 0) this.#notify(run);
    if (this.journal !== undefined) await this.journal.flush();
  }

  resume(jobState: JobState): JobState {
    const job = this.#checkJob(jobState, "resume");
    this.#checkOpen("resume");
    const status = job.status;
    if (status === "running" && (job[kJobData].run as JobRun | undefined)?.engine === this) return job;
    if (status !== "paused" && status !== "running") {
      throw new JobStateError(`Cannot resume job '${job.jobId}': it is ${status}; only a paused job can be resumed`);
    }
    this.#checkRunnable(job);
    const run = this.#attach(job);
    const now = this.clock.now();
    this.#setStatus(run, "running");
    const deferred = job.takeDeferredEvents();
    job.pushRecord(this.flow.flowId, "resumed", { pendingTasks: run.data.queue.length + (run.data.delayed?.size ?? 0), deferredEvents: deferred.length }, now);
    for (const event of deferred) this.#emitNow(run, event.routineId, event.eventName, event.data);
    for (const task of run.data.delayed?.values() ?? []) this.#armRetry(run, task);
    this.journal?.jobChanged(job);
    this.#armTimeout(run);
    this.#schedule(run);
    if (this.#drained(run)) queueMicrotask(() => this.#afterSettle(run));
    return job;
  }

  /**
   * Carries on jobs that a store held as "running" when their process died (`Flow.recover`): each
   * is attached as last committed, records "recovered", and its pending tasks (those that were
   * in flight at the crash included) run again. Deferred events wait for a resume, as before.
   * Every job is checked before any is attached.
   */
  adopt(jobs: readonly JobState[]): void {
    this.#checkOpen("recover");
    for (const jobState of jobs) {
      const job = this.#checkJob(jobState, "recover");
      if (job.status !== "running") {
        throw new JobStateError(`Cannot recover job '${job.jobId}': it is ${job.status}; only a running job is recovered (resume a paused one)`);
      }
      if (job[kJobData].run !== undefined) throw new JobStateError(`Cannot recover job '${job.jobId}': it is already attached to a flow here`);
      this.#checkRunnable(job);
    }
    for (const job of jobs) {
      const run = this.#attach(job);
      const data = run.data;
      this.#setStatus(run, "running");
      job.pushRecord(this.flow.flowId, "recovered", { pendingTasks: data.queue.length + (data.delayed?.size ?? 0) }, this.clock.now());
      for (const task of data.delayed?.values() ?? []) this.#armRetry(run, task);
      this.journal?.jobChanged(job);
      this.#armTimeout(run);
      this.#schedule(run);
      if (this.#drained(run)) queueMicrotask(() => this.#afterSettle(run));
    }
  }

  /** A job from elsewhere must name only routines, slots and events this flow has. */
  #checkRunnable(job: JobState): void {
    const flow = this.flow;
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
      const routine = flow.getRoutine(event.routineId);
      if (routine?.getEvent(event.eventName) === undefined) {
        throw new JobStateError(
          `Cannot resume job '${job.jobId}' on flow '${flow.flowId}': deferred event '${event.routineId}.${event.eventName}' ` +
          "names a routine or event this flow lacks",
        );
      }
    }
  }

  async cancel(jobState: JobState, reason: string): Promise<void> {
    const job = this.#checkJob(jobState, "cancel");
    const status = job.status;
    if (status === "cancelled") return;
    if (status !== "running" && status !== "paused") {
      throw new JobStateError(`Cannot cancel job '${job.jobId}': it is already ${status}`);
    }
    const run = this.#attach(job);
    const self = this.#selfCount(run);
    const dropped = this.#dropTasks(run);
    this.#stopTimeout(run);
    this.#setStatus(run, "cancelled");
    job.pushRecord(this.flow.flowId, "cancelled", { reason, droppedTasks: dropped }, this.clock.now());
    this.journal?.jobChanged(job);
    this.#notify(run);
    await this.#waitIdle(run, self);
    if (this.journal !== undefined) await this.journal.flush();
  }

  /** Resolves `true` when the job rests (completed, failed, cancelled, paused), `false` on timeout. */
  waitFor(jobState: JobState, timeoutMs: number | undefined): Promise<boolean> {
    const job = this.#checkJob(jobState, "waitForCompletion");
    if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
      throw new RoutiluxError(`Expected \`timeoutMs\` to be a number from 0 and up, got ${showValue(timeoutMs)}`);
    }
    const status = job.status;
    const settling = status === "paused" && ((job[kJobData].run as JobRun | undefined)?.inFlight ?? 0) > 0;
    if (status === "completed" || status === "failed" || status === "cancelled" || (status === "paused" && !settling)) {
      const journal = this.journal;
      return journal === undefined ? Promise.resolve(true) : journal.flush().then(() => true, () => true);
    }
    return new Promise((resolve) => {
      const data = job[kJobData];
      let timer: TimerHandle | undefined;
      const waiter = (rested: boolean): void => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        resolve(rested);
      };
      (data.waiters ??= []).push(waiter);
      if (timeoutMs !== undefined) {
        timer = this.clock.setTimeout(() => {
          timer = undefined;
          data.waiters = data.waiters?.filter((w) => w !== waiter);
          if (data.waiters?.length === 0) data.waiters = undefined;
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /** Stops scheduling, clears timers and waits for every running handler to settle. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    for (const run of this.#active) {
      this.#clearRetryTimers(run);
      if (run.timeoutTimer !== undefined) {
        this.clock.clearTimeout(run.timeoutTimer);
        run.timeoutTimer = undefined;
      }
    }
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    if (this.journal !== undefined) await this.journal.flush();
    // Jobs left running will not rest in this process: their waiters learn it now (false), not never.
    for (const run of this.#active) {
      const waiters = run.data.waiters;
      run.data.waiters = undefined;
      for (const waiter of waiters ?? []) waiter(false);
    }
  }
}
