import type { Flow } from "../api/flow.js";
import { systemClock, type Clock } from "../core/clock.js";
import { contextStorage, outsideContext } from "../core/context.js";
import { describeError } from "../core/errors.js";
import type { Routine } from "../core/routine.js";
import type { Payload, SlotHandler } from "../core/slot.js";
import { NOTHING_IN_FLIGHT, slotKey } from "../state/job-data.js";
import { SlotBuffer } from "../state/slot-buffer.js";
import type { PendingTask } from "../state/task.js";
import { TaskContext } from "./activation.js";
import type { JobRun } from "./job-run.js";
import { decideFailure, handlerFor } from "./error-policy.js";
import type { ExecutionTracker } from "./execution-tracker.js";
import type { Inputs } from "./inputs.js";
import type { Scheduler } from "./scheduler.js";
import type { Timers } from "./timers.js";

const NO_TASKS: readonly PendingTask[] = [];

/** What the dispatcher needs from the engine. @internal */
export interface DispatchHost {
  readonly flow: Flow;
  readonly clock: Clock;
  readonly tracker: ExecutionTracker;
  readonly scheduler: Scheduler;
  readonly timers: Timers;
  readonly inputs: Inputs;
  /** Fails the job (STOP): its queue is dropped and its running handlers told to stop. */
  failJob(run: JobRun, routineId: string, reason: string, errorType: string): void;
  /** After a settle: end the job when nothing of it is left, else wake its waiters. */
  afterSettle(run: JobRun): void;
  /**
   * The job's lease may have expired: puts `task` back and holds the job until a renewal confirms
   * the lease; returns false (dispatch goes on) when no lease applies to the job any more.
   */
  holdForLease(run: JobRun, task: PendingTask): boolean;
}

/** What `callHandler` returns for a result it watches: the activation settles from its callbacks. */
const WATCHED = Symbol("watched");

/** `Promise.prototype.then` as the runtime made it: a `then` replaced later (instrumentation) is watched as any thenable. */
const NATIVE_THEN = Promise.prototype.then;

/**
 * Calls a handler in its activation's async context, and watches what it returns from there. A
 * native promise's callbacks find their activation with `getStore()` (no closure per task); any
 * other thenable is watched with callbacks of its own, its `then` called in the activation's
 * context as `await` would. A `then` that throws fails the activation (the caller catches it).
 */
function callHandler(handler: SlotHandler, routine: Routine, data: Payload, ctx: TaskContext): unknown {
  const result = handler.call(routine, data, ctx);
  if (result === null || (typeof result !== "object" && typeof result !== "function")) return result;
  const then = (result as { then?: unknown }).then;
  if (typeof then !== "function") return result;
  if (then === NATIVE_THEN && result instanceof Promise) {
    void NATIVE_THEN.call(result, settledOk, settledWithError);
  } else {
    void (then as (ok: (value: unknown) => void, failed: (error: unknown) => void) => unknown).call(
      result,
      () => settleOutside(ctx, undefined, true),
      (error: unknown) => settleOutside(ctx, error, false),
    );
  }
  return WATCHED;
}

/** Settles an activation from a thenable's callback, outside the context the thenable called it in. */
function settleOutside(ctx: TaskContext, error: unknown, ok: boolean): void {
  outsideContext(() => ctx.run.engine.dispatcher.settleAsync(ctx, error, ok));
}

function settledOk(): void {
  settle(undefined, true);
}

function settledWithError(error: unknown): void {
  settle(error, false);
}

/**
 * Runs in the callback of a watched promise: finds the activation, then leaves its async context
 * (the callback's own, made for it alone), so the settle and what runs after it see no handler.
 */
function settle(error: unknown, ok: boolean): void {
  const ctx = contextStorage.getStore() as TaskContext;
  contextStorage.enterWith(undefined as unknown as TaskContext);
  ctx.run.engine.dispatcher.settleAsync(ctx, error, ok, true);
}

/**
 * Whether committing a succeeded activation runs none of the user's code: no shared-data writes
 * (an update function runs again), no merge (a merge function), no input request (a schema's
 * check), no delayed delivery (a clock's timers).
 */
function runsNoUserCode(ctx: TaskContext): boolean {
  return ctx.sharedOps === undefined && ctx.buffer === undefined && ctx.waits === undefined &&
    ctx.later === undefined && ctx.cancels === undefined;
}

/** Numbers a task an activation emitted and queues it in its job. */
function queueTask(data: JobRun["data"], task: PendingTask): void {
  (task as { taskId: number }).taskId = data.nextTaskId++;
  data.queue.push(task);
}

/**
 * One activation, start to end, on the one path every task takes (entry, ordinary, retried,
 * resumed, recovered): merge the slot's data, run the handler in its async context, then settle:
 * apply and commit its writes and queue its emits if it succeeded, or apply the error policy if it
 * failed.
 * @internal
 */
export class Dispatcher {
  readonly #engine: DispatchHost;
  /** The engine's clock is the wall clock that leases are measured by (else leases read `Date.now()`). */
  readonly #wall: boolean;
  readonly dispatch = (run: JobRun, task: PendingTask): void => this.#dispatch(run, task);

  constructor(engine: DispatchHost) {
    this.#engine = engine;
    this.#wall = engine.clock === systemClock;
  }

  #dispatch(run: JobRun, task: PendingTask): void {
    const engine = this.#engine;
    const routine = engine.flow.routines.get(task.routineId);
    const slot = routine?.getSlot(task.slotName);
    if (routine === undefined || slot === undefined) {
      // Only a task from a document can name what the flow lacks; resume checks, so this is a bug guard.
      const why = `task ${task.taskId} names slot '${task.routineId}.${task.slotName}', which flow '${engine.flow.flowId}' lacks`;
      engine.failJob(run, task.routineId, why, "JobStateError");
      return;
    }
    const job = run.job;
    const data = run.data;
    // The time the settle just before read when this dispatch follows it at once (one clock read a task), else the clock's.
    const now = engine.scheduler.takeSettledAt() ?? engine.clock.now();
    // A job held under a lease starts no activation past the lease's end until a renewal confirms it.
    const leaseUntil = data.leaseUntil;
    if (leaseUntil !== Infinity && leaseUntil <= Date.now() && engine.holdForLease(run, task)) return;
    engine.scheduler.started();
    const ctx = new TaskContext(run, routine, task, now);
    if (data.inFlight === NOTHING_IN_FLIGHT) data.inFlight = [ctx];
    else data.inFlight.push(ctx);
    job.currentRoutineId = task.routineId;
    job.setRoutineStatus(task.routineId, "running");
    let input = task.data;
    const strategy = slot.mergeStrategy;
    if (strategy !== "override") {
      const key = slotKey(task.routineId, task.slotName);
      const buffers = (data.slotBuffers ??= new Map<string, SlotBuffer>());
      let buffer = buffers.get(key);
      if (buffer === undefined) {
        buffer = new SlotBuffer(undefined);
        buffers.set(key, buffer);
      }
      try {
        input = buffer.merge(strategy, task, task.data);
      } catch (error) {
        this.#settle(ctx, error, false);
        return;
      }
      ctx.buffer = buffer;
    }
    const handler = slot.handler;
    if (handler === undefined) {
      this.#settle(ctx, undefined, true);
      return;
    }
    let result: unknown;
    // As `contextStorage.run(ctx, ...)` does, without the list of arguments it makes per call.
    const outer = contextStorage.getStore();
    contextStorage.enterWith(ctx);
    try {
      result = callHandler(handler, routine, input, ctx);
    } catch (error) {
      contextStorage.enterWith(outer as TaskContext);
      // A thenable may have settled the activation before its `then` threw: it settles once.
      if (!ctx.done) this.#settle(ctx, error, false);
      return;
    }
    contextStorage.enterWith(outer as TaskContext);
    if (result !== WATCHED) this.#settle(ctx, undefined, true, true);
  }

  /**
   * @internal An activation whose handler returned a promise settled: from a native promise's
   * callback (`native`), or from another thenable's, which may run more code after it returns.
   */
  settleAsync(ctx: TaskContext, error: unknown, ok: boolean, native = false): void {
    // A thenable that calls back twice (or both callbacks) settles its activation once.
    if (ctx.done) return;
    this.#settle(ctx, error, ok, native);
    // What the settle queued runs now, within the scheduler's time slice.
    this.#engine.scheduler.drain();
  }

  /**
   * A handler settled: apply and commit its writes, or apply the error policy. `plain`: nothing
   * but the engine runs between this settle and the next dispatch (a synchronous handler returned,
   * or a native promise called back), unless the settle itself runs user code.
   */
  #settle(ctx: TaskContext, error: unknown, ok: boolean, plain = false): void {
    const engine = this.#engine;
    const run = ctx.run;
    const job = run.job;
    const data = run.data;
    const task = ctx.task;
    const routineId = task.routineId;
    ctx.done = true;
    ctx.failed = !ok;
    engine.scheduler.settled();
    const inFlight = data.inFlight;
    const at = inFlight.lastIndexOf(ctx);
    if (at >= 0) {
      inFlight[at] = inFlight[inFlight.length - 1]!;
      inFlight.pop();
    }
    const now = engine.clock.now();
    // The next dispatch starts at this time when no user code runs before it; else it reads the clock.
    if (plain && ok && runsNoUserCode(ctx) && data.journal === undefined) engine.scheduler.settledAt(now);
    else engine.scheduler.takeSettledAt();
    const took = now - ctx.startedAt;
    engine.tracker.activation(routineId, took, ok);
    // A handler that took a millisecond or more (a synchronous one kept the thread) has the time slice checked at once.
    if (took >= 1 && this.#wall) engine.scheduler.ranSlowly();
    data.updatedAtMs = now;
    if (ctx.holding) data.holds--;
    const status = job.status;
    if (run.detached) {
      // Let go by this process: what the handler did is not applied here.
    } else if (status === "running" || status === "paused") {
      if (ok) {
        // Changes made outside activations before now go first in this commit; those the settle makes (waits, a pause) after.
        const earlier = data.journal === undefined ? undefined : job.takeLoose();
        ctx.buffer?.succeed(task);
        job.applyWrites(ctx, now);
        job.setRoutineStatus(routineId, "completed");
        const first = ctx.emitted1;
        if (first !== undefined) {
          queueTask(data, first);
          const rest = ctx.emittedRest;
          if (rest !== undefined) for (let i = 0; i < rest.length; i++) queueTask(data, rest[i]!);
        }
        if (ctx.cancels !== undefined) ctx.removed = engine.timers.withdraw(run, routineId, ctx.cancels);
        const later = ctx.later;
        if (later !== undefined) {
          for (const delayed of later) {
            (delayed as { taskId: number }).taskId = data.nextTaskId++;
            engine.timers.delay(run, delayed);
          }
        }
        if (ctx.waits !== undefined) engine.inputs.asked(run, ctx.waits);
        if (data.journal !== undefined) {
          const emitted = ctx.emitted ?? NO_TASKS;
          data.journal.taskSettled(job, task, ctx, later === undefined ? emitted : [...emitted, ...later], earlier);
        }
        if (first !== undefined || (later !== undefined && later.length > 0)) engine.scheduler.push(run);
      } else {
        ctx.buffer?.fail(task);
        const added = this.#onFailure(ctx, error, now);
        data.journal?.taskSettled(job, task, undefined, added, undefined);
      }
    } else {
      // The job ended while this handler ran: its writes are discarded, but its outcome is recorded.
      ctx.buffer?.fail(task);
      if (!data.final) {
        const state = job.liveRoutineState(routineId);
        if (ok) {
          state.status = "completed";
        } else {
          const { message, type } = describeError(error);
          state.status = "failed";
          state.error = message;
          state.errorType = type;
          job.pushRecord(routineId, "error", { slot: task.slotName, error: message, errorType: type, attempt: task.attempt, afterEnd: true }, now);
        }
        job.routineStateChanged(routineId);
      }
    }
    engine.afterSettle(run);
  }

  /** Applies the error policy to a failed activation; returns the tasks it added (a retry). */
  #onFailure(ctx: TaskContext, error: unknown, now: number): PendingTask[] {
    const engine = this.#engine;
    const run = ctx.run;
    const job = run.job;
    const task = ctx.task;
    const routineId = task.routineId;
    const handler = handlerFor(ctx.routine.getErrorHandler(), engine.flow.errorHandler);
    const { message, type } = describeError(error);
    const record: Payload = { slot: task.slotName, error: message, errorType: type, attempt: task.attempt, strategy: handler.strategy };
    if (handler.isCritical) record.critical = true;
    const discarded = ctx.emittedCount;
    if (discarded > 0) record.discardedEmits = discarded;
    job.pushRecord(routineId, "error", record, now);
    const state = job.liveRoutineState(routineId);
    state.error = message;
    state.errorType = type;
    const decision = decideFailure(handler, error, task.attempt);
    switch (decision.kind) {
      case "continue":
        state.status = "error_continued";
        job.routineStateChanged(routineId);
        return [];
      case "skip":
        state.status = "skipped";
        job.routineStateChanged(routineId);
        job.pushRecord(routineId, "skipped", { slot: task.slotName }, now);
        return [];
      case "retry": {
        const retry: PendingTask = {
          taskId: run.data.nextTaskId++,
          routineId,
          slotName: task.slotName,
          data: task.data,
          connectionId: task.connectionId,
          attempt: task.attempt + 1,
          notBefore: now + decision.delayMs,
        };
        state.status = "running";
        job.routineStateChanged(routineId);
        job.pushRecord(routineId, "retry", { slot: task.slotName, attempt: retry.attempt, delayMs: decision.delayMs }, now);
        engine.tracker.retry(routineId);
        engine.timers.delay(run, retry);
        return [retry];
      }
      case "stop":
        state.status = "failed";
        job.routineStateChanged(routineId);
        engine.failJob(run, routineId, message, type);
        return [];
    }
  }
}
