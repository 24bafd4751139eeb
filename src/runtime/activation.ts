import { appended } from "../core/lists.js";
import type { Flow } from "../api/flow.js";
import type { JobState } from "../api/job-state.js";
import type { ActiveContext, HandlerContext, SharedData } from "../core/context.js";
import type { Connection } from "../core/connection.js";
import { contextStorage, outsideContext } from "../core/context.js";
import { RoutiluxError, listChoices, showValue } from "../core/errors.js";
import { checkJsonValue, isJsonValue } from "../core/json-value.js";
import { Routine } from "../core/routine.js";
import type { Payload } from "../core/slot.js";
import { HistoryEntry } from "../state/records.js";
import type { SlotBuffer } from "../state/slot-buffer.js";
import type { PendingTask } from "../state/task.js";
import { WriteSet, type WaitRequest } from "../state/write-set.js";
import type { JobRun } from "./job-run.js";

/** A task delivering an event's data through one connection; its `taskId` is set when it is queued. @internal */
export function deliveryOf(connection: Connection, data: Payload): PendingTask {
  return {
    taskId: 0,
    routineId: connection.targetRoutineId,
    slotName: connection.targetSlot,
    data: connection.mapParams(data),
    connectionId: connection.id,
    attempt: 1,
  };
}

/**
 * One slot activation: the handler's context (`ctx`), and the unit of work it is. What the
 * handler writes to its job (emits, shared data and log, routine states, outputs, deferred
 * events, input requests) is buffered here while it runs, and applied and committed together
 * when it succeeds, or dropped when it fails. After it settles, a detached continuation's writes
 * take effect at once. Its `signal` tells the handler to stop (cancel, timeout, lost lease,
 * shutdown).
 * @internal
 */
export class TaskContext extends WriteSet implements ActiveContext, HandlerContext {
  readonly routine: Routine;
  readonly run: JobRun;
  readonly task: PendingTask;
  readonly startedAt: number;
  /** The first task the handler emitted (most emit one, so it needs no list), queued when it succeeds. */
  emitted1: PendingTask | undefined;
  /** The tasks it emitted after the first. */
  emittedRest: PendingTask[] | undefined;
  /** Bits of DONE, FAILED, HOLDING and ABORTED: an activation is made per task, so it stays small. */
  #flags = 0;
  #more: MoreOfTask | undefined;

  constructor(run: JobRun, routine: Routine, task: PendingTask, startedAt: number) {
    super();
    this.run = run;
    this.routine = routine;
    this.task = task;
    this.startedAt = startedAt;
  }

  /** The tasks the handler emitted, in order, as a list made when asked for. */
  get emitted(): PendingTask[] | undefined {
    const first = this.emitted1;
    if (first === undefined) return undefined;
    const rest = this.emittedRest;
    return rest === undefined ? [first] : [first, ...rest];
  }

  /** How many tasks the handler emitted. */
  get emittedCount(): number {
    return this.emitted1 === undefined ? 0 : 1 + (this.emittedRest?.length ?? 0);
  }

  /** The handler has settled; later writes (from a detached continuation) apply at once. */
  get done(): boolean {
    return (this.#flags & DONE) !== 0;
  }

  set done(value: boolean) {
    this.#flags = value ? this.#flags | DONE : this.#flags & ~DONE;
  }

  /** The handler failed: its writes were discarded, and so are its leftovers' (they are refused). */
  get failed(): boolean {
    return (this.#flags & FAILED) !== 0;
  }

  set failed(value: boolean) {
    this.#flags = value ? this.#flags | FAILED : this.#flags & ~FAILED;
  }

  /** This activation paused its own job: the pause is stored with its commit. */
  get holding(): boolean {
    return (this.#flags & HOLDING) !== 0;
  }

  set holding(value: boolean) {
    this.#flags = value ? this.#flags | HOLDING : this.#flags & ~HOLDING;
  }

  /** Deliveries to its own slots after a delay (`deliverLater`), held when it succeeds. */
  get later(): PendingTask[] | undefined {
    return this.#more?.later;
  }

  set later(value: PendingTask[] | undefined) {
    if (value !== undefined || this.#more !== undefined) this.#extra().later = value;
  }

  /** The merging slot buffer this activation contributed to, if any. */
  get buffer(): SlotBuffer | undefined {
    return this.#more?.buffer;
  }

  set buffer(value: SlotBuffer | undefined) {
    if (value !== undefined || this.#more !== undefined) this.#extra().buffer = value;
  }

  #extra(): MoreOfTask {
    return (this.#more ??= new MoreOfTask());
  }

  get flow(): Flow {
    return this.run.engine.flow;
  }

  get jobState(): JobState {
    return this.run.job as JobState;
  }

  get jobId(): string {
    return this.run.job.jobId;
  }

  get routineId(): string {
    return this.task.routineId;
  }

  get attempt(): number {
    return this.task.attempt;
  }

  /** Who sent this data (undefined for entry params, answers and retries of those). */
  get source(): { routineId: string; eventName: string } | undefined {
    const id = this.task.connectionId;
    const connection = id === undefined ? undefined : this.run.engine.flow.connectionById(id);
    return connection === undefined ? undefined : { routineId: connection.sourceRoutineId, eventName: connection.sourceEvent };
  }

  /** Aborted when the handler should stop: its job was cancelled, timed out or lost, or the flow shuts down. */
  get signal(): AbortSignal {
    const more = this.#extra();
    if (more.controller === undefined) {
      more.controller = new AbortController();
      if ((this.#flags & ABORTED) !== 0) more.controller.abort(more.abortReason);
    }
    return more.controller.signal;
  }

  /** Tells the handler to stop; the first reason wins. */
  abort(reason: unknown): void {
    if ((this.#flags & (ABORTED | DONE)) !== 0) return;
    this.#flags |= ABORTED;
    const more = this.#extra();
    more.abortReason = reason;
    const controller = more.controller;
    if (controller !== undefined) outsideContext(() => controller.abort(reason));
  }

  get shared(): SharedData {
    return (this.#extra().shared ??= {
      get: <T>(key: string, defaultValue?: T): T => this.run.job.readSharedData(this.done ? undefined : this, key, defaultValue),
      set: (key: string, value: unknown): void => this.run.job.writeSharedData(this.#writes(), key, value),
      update: <T>(key: string, fn: (previous: T | undefined) => T): T => this.run.job.updateSharedDataWith(this.#writes(), key, fn),
    });
  }

  /** Emits an event of this activation's routine. */
  emit(eventName: string, data: Payload = {}): void {
    const routine = this.routine;
    // The common case goes straight to the write set: the running handler emits an event its
    // routine has, and the routine keeps Routine's own emit.
    if (!this.done && routine.emit === ROUTINE_EMIT && routine.events.has(eventName)) {
      this.emitAs(this.routineId, eventName, data);
      return;
    }
    // Its own activation's, whatever context it is called from (a callback another job fires).
    contextStorage.run(this, emitOf, routine, eventName, data);
  }

  /** Sends an output of this activation's routine. */
  sendOutput(outputType: string, data: Payload = {}): void {
    this.run.job.writeOutput(this.#writes(), this.routineId, outputType, data);
  }

  /** Asks for input: when the handler succeeds, the job pauses until `flow.answer` fills the slot. */
  waitForInput(request: { slot: string; prompt?: string; schema?: object; group?: string }): void {
    this.run.engine.requestInput(this, request);
  }

  /**
   * Delivers data to a slot of this routine after `delayMs`, holding no worker; takes effect when
   * the handler succeeds. With a `key`, it replaces the routine's pending delivery of that key.
   */
  deliverLater(slot: string, data: Payload, delayMs: number, options: { key?: string } = {}): void {
    if (typeof slot !== "string" || this.routine.getSlot(slot) === undefined) {
      throw new RoutiluxError(
        `deliverLater in routine '${this.routineId}' names slot ${showValue(slot)}, which the routine lacks; ` +
        `its slots are: ${listChoices(String(slot), this.routine.slots.keys())}`,
      );
    }
    if (typeof delayMs !== "number" || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new RoutiluxError(`Expected \`delayMs\` of deliverLater to be a number of milliseconds from 0 and up, got ${showValue(delayMs)}`);
    }
    const job = this.run.job;
    checkJsonValue(data, `the data of deliverLater('${slot}') of routine '${this.routineId}' in job '${job.jobId}'`, "data");
    const key = options.key;
    if (key !== undefined && typeof key !== "string") throw new RoutiluxError(`Expected \`key\` of deliverLater to be a string, got ${showValue(key)}`);
    const notBefore = this.run.engine.clock.now() + delayMs;
    const task: PendingTask = key === undefined
      ? { taskId: 0, routineId: this.routineId, slotName: slot, data, attempt: 1, notBefore }
      : { taskId: 0, routineId: this.routineId, slotName: slot, data, attempt: 1, notBefore, key };
    if (this.done) {
      this.run.engine.deliverDetached(this.run, task);
      return;
    }
    if (key !== undefined) {
      (this.cancels ??= []).push(key);
      this.later = this.later?.filter((t) => t.key !== key);
    }
    this.later = appended(this.later, task);
  }

  /** Withdraws this routine's pending delayed delivery of `key` (if any), when the handler succeeds. */
  cancelDelivery(key: string): void {
    if (typeof key !== "string") throw new RoutiluxError(`Expected the key of cancelDelivery to be a string, got ${showValue(key)}`);
    if (this.done) {
      this.run.engine.cancelDetached(this.run, this.routineId, key);
      return;
    }
    (this.cancels ??= []).push(key);
    this.later = this.later?.filter((t) => t.key !== key);
  }

  /** @internal Adds an input request to this activation. */
  addWait(request: WaitRequest): void {
    this.waits = appended(this.waits, request);
  }

  // ---------------------------------------------------------------- ActiveContext

  writesFor(job: object): object | undefined {
    if (job !== this.run.job) return undefined;
    if (this.failed) throw this.#lateWrite();
    return this.done ? undefined : this;
  }

  /** A write from a callback a failed attempt left behind: refused, as the attempt's own writes were discarded. */
  #lateWrite(): RoutiluxError {
    return new RoutiluxError(
      `Routine '${this.task.routineId}' (attempt ${this.task.attempt}) of job '${this.run.job.jobId}' failed, so its writes were discarded; ` +
      "a callback it left behind cannot change the job either",
    );
  }

  /** Where a write of this activation goes: its write set while it runs, the job after it succeeded; refused after it failed. */
  #writes(): WriteSet | undefined {
    if (this.failed) throw this.#lateWrite();
    return this.done ? undefined : this;
  }

  emitAs(routineId: string, eventName: string, data: Payload): void {
    const job = this.run.job;
    if (!isJsonValue(data)) checkJsonValue(data, `the data of emit('${eventName}') of routine '${routineId}' in job '${job.jobId}'`, "data");
    if (this.failed) throw this.#lateWrite();
    if (this.done) {
      this.run.engine.emitDetached(this.run, routineId, eventName, data);
      return;
    }
    this.addHistory(new HistoryEntry(routineId, eventName, data, 0));
    const connections = this.run.engine.flow.outgoing(routineId, eventName);
    if (connections === undefined) return;
    for (let i = 0; i < connections.length; i++) {
      const task = deliveryOf(connections[i]!, data);
      if (this.emitted1 === undefined) this.emitted1 = task;
      else if (this.emittedRest === undefined) this.emittedRest = [task];
      else this.emittedRest.push(task);
    }
  }

  sendOutputAs(routineId: string, outputType: string, data: Payload): void {
    this.run.job.writeOutput(this.#writes(), routineId, outputType, data);
  }

  emitDeferredAs(routineId: string, eventName: string, data: Payload): void {
    this.run.job.writeDeferredEvent(this.#writes(), routineId, eventName, data);
  }

  routineIdOf(routine: Routine): string | undefined {
    return this.run.engine.flow.routineIdOf(routine);
  }
}

const DONE = 1;
const FAILED = 2;
const HOLDING = 4;
const ABORTED = 8;

/** What only some activations need: made on first use. */
class MoreOfTask {
  later: PendingTask[] | undefined;
  buffer: SlotBuffer | undefined;
  controller: AbortController | undefined;
  abortReason: unknown;
  shared: SharedData | undefined;
}

/** Routine's own emit: a routine that replaces it has its emit called for `ctx.emit` too. */
const ROUTINE_EMIT = Routine.prototype.emit;

function emitOf(routine: Routine, eventName: string, data: Payload): void {
  routine.emit(eventName, data);
}

/** The error for an emit from a detached continuation after its job ended. @internal */
export function endedJobEmit(jobId: string, status: string, routineId: string, eventName: string): RoutiluxError {
  return new RoutiluxError(
    `Cannot emit '${eventName}' of routine '${routineId}': job '${jobId}' has ended (${status}); ` +
    "an emit from a callback that outlives its handler must happen while the job runs",
  );
}
