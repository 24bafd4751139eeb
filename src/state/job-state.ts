import { randomUUID } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { systemClock, type Clock } from "../core/clock.js";
import { RoutiluxError, SerializationError, describeError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import type { Flow } from "../runtime/flow.js";
import { decodeJobDocument, encodeJobDocument, type JobStateDocument } from "../serialization/job-document.js";
import { Deque } from "./deque.js";
import type { JobSnapshot, JobStatus } from "./job-snapshot.js";
import type { OutputHandler } from "./output-handlers.js";
import { HistoryEntry, OutputEntry, PauseEntry, type DeferredEvent, type ExecutionRecord, type OutputRecord, type PausePoint } from "./records.js";
import type { PendingTask } from "./task.js";

const EMPTY: Payload = Object.freeze({});

/**
 * Told of every change of a job, as it happens: what a store needs to commit a task's changes.
 * Appends pass the entry, so a store can attribute each one to the activation that made it.
 * @internal
 */
export interface ChangeTracker {
  routineState(routineId: string): void;
  sharedData(key: string): void;
  /** A slot buffer changed, merging or restoring for `task` (the engine makes these changes outside any handler). */
  slotBuffer(key: string, task?: PendingTask): void;
  deferred(): void;
  history(entry: HistoryEntry): void;
  sharedLog(entry: unknown): void;
  output(entry: OutputEntry): void;
}

/**
 * The engine-facing parts of a job that are state, not API: its task queue, retries waiting for
 * their time, slot merge buffers and timing. They live in the JobState, so a paused job's
 * queue is simply its queue, and serialization sees everything.
 * @internal
 */
export class JobData {
  readonly queue = new Deque<PendingTask>();
  /** Retries waiting for their `notBefore`, by taskId. */
  delayed: Map<number, PendingTask> | undefined;
  /**
   * Tasks whose handlers are running (a handful at most: bounded by the flow's workers): a document
   * written now lists them as pending, to run again.
   */
  readonly inFlight: PendingTask[] = [];
  /** Per-job merged data of slots with an "append" or custom strategy, keyed `routineId\0slot`. */
  slotBuffers: Map<string, Payload> | undefined;
  nextTaskId = 1;
  clock: Clock = systemClock;
  tracker: ChangeTracker | undefined;
  outputHandler: OutputHandler | undefined;
  timeoutMs: number | undefined;
  runningMs = 0;
  createdAtMs: number;
  updatedAtMs: number;
  /** Transient: the engine run the job is attached to in this process (never serialized). */
  run: unknown;
  /** Transient: callers of waitForCompletion, told when the job comes to rest. */
  waiters: Array<(rested: boolean) => void> | undefined;

  constructor(nowMs: number) {
    this.createdAtMs = nowMs;
    this.updatedAtMs = nowMs;
  }

  /** Queued tasks and waiting retries (and, with `withInFlight`, running ones), in taskId order. */
  pendingTasks(withInFlight = false): PendingTask[] {
    const queued = this.queue.toArray();
    const delayed = this.delayed?.size ?? 0;
    const running = withInFlight ? this.inFlight.length : 0;
    if (delayed === 0 && running === 0) return queued;
    const all = [...queued, ...(this.delayed?.values() ?? [])];
    if (running > 0) all.push(...this.inFlight);
    return all.sort((a, b) => a.taskId - b.taskId);
  }
}

/** Key of a slot buffer. @internal */
export function slotKey(routineId: string, slotName: string): string {
  return `${routineId}\u0000${slotName}`;
}

/** The routine id and slot name of a slot buffer key. @internal */
export function splitSlotKey(key: string): [routineId: string, slotName: string] {
  const split = key.indexOf("\u0000");
  return [key.slice(0, split), key.slice(split + 1)];
}

/** @internal */
export const kJobData: unique symbol = Symbol("routilux.jobData");

/**
 * Everything that changes during one execution of a flow: status, history, routine states,
 * shared data and log, outputs, deferred events, and the job's queued tasks. Returned by
 * `flow.execute()`; serializable at any time and resumable on any host.
 *
 * @example
 * ```ts
 * const job = flow.execute("source", { entryParams: { value: "A" } });
 * await JobState.waitForCompletion(flow, job);
 * console.log(job.status, job.executionHistory.length, job.getSharedData("count"));
 * ```
 */
export class JobState {
  #jobId: string;
  /** The id of the flow the job belongs to; it resumes only on a flow with this id. */
  flowId: string;
  /** Where the job is: "pending", "running", "completed", "failed", "paused" or "cancelled". */
  status: JobStatus = "pending";
  /** The routine whose handler started last, if any. */
  currentRoutineId: string | undefined;
  /** Custom data about the job (given to `execute`); serialized with it. */
  metadata: Record<string, unknown> = {};
  /** The checkpoint given to the last `flow.pause`, if any. */
  checkpoint: Record<string, unknown> | undefined;
  #history: HistoryEntry[] = [];
  #routineStates: Record<string, Payload> = {};
  #pausePoints: PauseEntry[] = [];
  #deferred: DeferredEvent[] = [];
  #sharedData: Payload = {};
  #sharedLog: unknown[] = [];
  #outputLog: OutputEntry[] = [];
  /** @internal */
  readonly [kJobData]: JobData;

  /** A new job in status "pending" with a fresh UUID `jobId`. Usually made by `flow.execute()`. */
  constructor(flowId = "") {
    // Node returns a rope string here; flattening it once saves about 400 bytes per job.
    const id = randomUUID();
    id.charCodeAt(0);
    this.#jobId = id;
    this.flowId = flowId;
    this[kJobData] = new JobData(systemClock.now());
  }

  /** The job's unique id (a UUID), kept across serialization and resume. */
  get jobId(): string {
    return this.#jobId;
  }

  /** When the job was created. */
  get createdAt(): Date {
    return new Date(this[kJobData].createdAtMs);
  }

  /** When the job last changed. */
  get updatedAt(): Date {
    return new Date(this[kJobData].updatedAtMs);
  }

  /** Sets the time of the last change. */
  set updatedAt(value: Date) {
    this[kJobData].updatedAtMs = value.getTime();
  }

  /** The chronological log of the job: start, emits, errors, retries, pauses, resumes, the end. */
  get executionHistory(): readonly ExecutionRecord[] {
    return this.#history;
  }

  /** Per routine that ran: `status` ("running", "completed", "failed", "error_continued", "skipped") and what handlers added. */
  get routineStates(): Readonly<Record<string, Record<string, unknown>>> {
    return this.#routineStates;
  }

  /** Every pause of the job, oldest first. */
  get pausePoints(): readonly PausePoint[] {
    return this.#pausePoints;
  }

  /** Events stored by `emitDeferredEvent`, to be emitted (and cleared) when the job is resumed. */
  get deferredEvents(): readonly DeferredEvent[] {
    return this.#deferred;
  }

  /** The job's queued tasks and waiting retries: what runs next, and what a paused job resumes with. */
  get pendingTasks(): readonly PendingTask[] {
    return this[kJobData].pendingTasks();
  }

  /** The job's business data, read and written by its routines; see {@link JobState.updateSharedData}. */
  get sharedData(): Readonly<Record<string, unknown>> {
    return this.#sharedData;
  }

  /** The job's append-only business log; see {@link JobState.appendToSharedLog}. */
  get sharedLog(): readonly unknown[] {
    return this.#sharedLog;
  }

  /** Every output sent in the job (`sendOutput`), oldest first, whatever its output handler did. */
  get outputLog(): readonly OutputRecord[] {
    return this.#outputLog;
  }

  /** The history, or only the records of one routine. */
  getExecutionHistory(routineId?: string): ExecutionRecord[] {
    return routineId === undefined ? [...this.#history] : this.#history.filter((r) => r.routineId === routineId);
  }

  /** Appends a record to the history. */
  recordExecution(routineId: string, eventName: string, data: Record<string, unknown> = EMPTY): void {
    const now = this[kJobData].clock.now();
    const entry = new HistoryEntry(routineId, eventName, data, now);
    this.#history.push(entry);
    this[kJobData].updatedAtMs = now;
    this[kJobData].tracker?.history(entry);
  }

  /** A copy of a routine's state, or undefined if it has none. */
  getRoutineState(routineId: string): Record<string, unknown> | undefined {
    const state = this.#routineStates[routineId];
    return state === undefined ? undefined : { ...state };
  }

  /** Replaces a routine's state. */
  updateRoutineState(routineId: string, state: Record<string, unknown>): void {
    this.#routineStates[routineId] = { ...state };
    this.#changedRoutineState(routineId);
  }

  /** Sets one key of the job's shared data. */
  updateSharedData(key: string, value: unknown): void {
    if (key === "__proto__") {
      throw new RoutiluxError(`Shared data key '__proto__' of job '${this.#jobId}' is reserved: it would replace the object's prototype; use another key`);
    }
    this.#sharedData[key] = value;
    const data = this[kJobData];
    data.updatedAtMs = data.clock.now();
    data.tracker?.sharedData(key);
  }

  /** One key of the job's shared data, or `defaultValue` when it is not set. */
  getSharedData<T = unknown>(key: string, defaultValue?: T): T {
    return (Object.hasOwn(this.#sharedData, key) ? this.#sharedData[key] : defaultValue) as T;
  }

  /** Appends an entry (a JSON value) to the job's shared log. */
  appendToSharedLog(entry: unknown): void {
    this.#sharedLog.push(entry);
    const data = this[kJobData];
    data.updatedAtMs = data.clock.now();
    data.tracker?.sharedLog(entry);
  }

  /** A copy of the shared log. */
  getSharedLog(): unknown[] {
    return [...this.#sharedLog];
  }

  /**
   * Sets where the job's outputs go (they are always in `outputLog` too); `undefined` removes it.
   * The handler is not serialized: set it again on a loaded job.
   */
  setOutputHandler(handler: OutputHandler | undefined): void {
    if (handler !== undefined && typeof handler.handle !== "function") {
      throw new RoutiluxError(`Expected an output handler with a handle() method for job '${this.#jobId}', got ${typeof handler}`);
    }
    this[kJobData].outputHandler = handler;
  }

  /** The job's output handler, if any. */
  getOutputHandler(): OutputHandler | undefined {
    return this[kJobData].outputHandler;
  }

  /**
   * Appends an output to `outputLog` and passes it to the output handler. A handler that throws
   * is recorded as `(routineId, "output_error", ...)` and does not fail the job.
   */
  sendOutput(routineId: string, outputType: string, data: Record<string, unknown> = EMPTY): void {
    const jobData = this[kJobData];
    const now = jobData.clock.now();
    const entry = new OutputEntry(routineId, outputType, data, now);
    this.#outputLog.push(entry);
    jobData.updatedAtMs = now;
    jobData.tracker?.output(entry);
    const handler = jobData.outputHandler;
    if (handler === undefined) return;
    try {
      handler.handle(routineId, outputType, data, entry.timestamp);
    } catch (error) {
      const { message, type } = describeError(error);
      this.recordExecution(routineId, "output_error", { outputType, error: message, errorType: type });
    }
  }

  /** Stores an event to emit when the job is resumed. */
  addDeferredEvent(routineId: string, eventName: string, data: Record<string, unknown> = EMPTY): void {
    this.#deferred.push({ routineId, eventName, data });
    this[kJobData].tracker?.deferred();
  }

  /** Writes the whole job as a versioned plain-JSON document. */
  serialize(): JobStateDocument {
    return encodeJobDocument(this.toSnapshot());
  }

  /**
   * Replaces this job's state with a document's. The document is validated first: a malformed
   * one throws a {@link SerializationError} naming the first bad field, and this job is unchanged.
   */
  deserialize(doc: unknown): void {
    this.restoreSnapshot(decodeJobDocument(doc));
  }

  /** A new JobState from a document (see {@link JobState.deserialize}). */
  static fromDocument(doc: unknown): JobState {
    const job = new JobState();
    job.deserialize(doc);
    return job;
  }

  /** Writes the document to a file (atomically: a temporary file, then a rename). */
  async save(path: string): Promise<void> {
    const text = JSON.stringify(this.serialize(), null, 2);
    const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temporary, text, "utf8");
    await rename(temporary, path);
  }

  /** Reads a JobState from a file written by {@link JobState.save}. */
  static async load(path: string): Promise<JobState> {
    const text = await readFile(path, "utf8");
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      throw new SerializationError(`File '${path}' is not a JSON document: ${describeError(error).message}`, { cause: error });
    }
    return JobState.fromDocument(doc);
  }

  /**
   * Waits until the job is completed, failed, cancelled or paused (`true`), or until `timeoutMs`
   * passes (`false`). Resolves at once when the job already rests; never polls.
   *
   * @param flow - the flow running the job
   * @param options - `timeoutMs` bounds the wait, not the job: on timeout the job runs on
   * @returns `true` once the job rests, `false` if `timeoutMs` passed first
   */
  static waitForCompletion(flow: Flow, jobState: JobState, options?: { timeoutMs?: number }): Promise<boolean> {
    return flow.waitForJob(jobState, options);
  }

  /** @internal Engine: appends a history record without the public method's checks. */
  pushRecord(routineId: string, eventName: string, data: Payload, nowMs: number): void {
    const entry = new HistoryEntry(routineId, eventName, data, nowMs);
    this.#history.push(entry);
    this[kJobData].tracker?.history(entry);
  }

  /** @internal Engine: the live state object of a routine, created on first use. */
  liveRoutineState(routineId: string): Payload {
    let state = this.#routineStates[routineId];
    if (state === undefined) {
      state = {};
      this.#routineStates[routineId] = state;
    }
    return state;
  }

  /** @internal Engine: note a change made to a live routine state. */
  changedRoutineState(routineId: string): void {
    this.#changedRoutineState(routineId);
  }

  /** @internal Engine hot path: sets a routine's status (the engine stamps `updatedAt` itself). */
  setRoutineStatus(routineId: string, status: string): Payload {
    let state = this.#routineStates[routineId];
    if (state === undefined) {
      state = { status };
      this.#routineStates[routineId] = state;
    } else {
      state.status = status;
    }
    this[kJobData].tracker?.routineState(routineId);
    return state;
  }

  /** @internal Engine: records a pause point. */
  addPausePoint(nowMs: number, reason: string, checkpoint: Payload | undefined): void {
    this.#pausePoints.push(new PauseEntry(nowMs, reason, checkpoint));
  }

  /** @internal Engine: takes the deferred events, leaving none. */
  takeDeferredEvents(): DeferredEvent[] {
    const events = this.#deferred;
    if (events.length > 0) {
      this.#deferred = [];
      this[kJobData].tracker?.deferred();
    }
    return events;
  }

  /** @internal Every part of the job as plain data. */
  toSnapshot(): JobSnapshot {
    const data = this[kJobData];
    const slotBuffers: JobSnapshot["slotBuffers"] = [];
    for (const [key, value] of data.slotBuffers ?? []) {
      const [routineId, slotName] = splitSlotKey(key);
      slotBuffers.push({ routineId, slotName, data: value });
    }
    return {
      jobId: this.#jobId,
      flowId: this.flowId,
      status: this.status,
      createdAt: data.createdAtMs,
      updatedAt: data.updatedAtMs,
      currentRoutineId: this.currentRoutineId,
      metadata: this.metadata,
      checkpoint: this.checkpoint,
      history: this.#history.map((r) => ({ routineId: r.routineId, eventName: r.eventName, data: r.data, timestamp: r.timeMs })),
      routineStates: this.#routineStates,
      pausePoints: this.#pausePoints.map((p) => ({ timestamp: p.timeMs, reason: p.reason, checkpoint: p.checkpoint })),
      deferredEvents: this.#deferred,
      pendingTasks: data.pendingTasks(true),
      slotBuffers,
      sharedData: this.#sharedData,
      sharedLog: this.#sharedLog,
      outputLog: this.#outputLog.map((o) => ({ routineId: o.routineId, outputType: o.outputType, data: o.data, timestamp: o.timeMs })),
      nextTaskId: data.nextTaskId,
      timeoutMs: data.timeoutMs,
      runningMs: data.runningMs,
    };
  }

  /**
   * @internal Replaces every part of the job with a snapshot's. The snapshot must already be
   * validated; it is used as is (not copied), so callers pass a fresh one.
   */
  restoreSnapshot(s: JobSnapshot): void {
    const data = this[kJobData];
    this.#jobId = s.jobId;
    this.flowId = s.flowId;
    this.status = s.status;
    data.createdAtMs = s.createdAt;
    data.updatedAtMs = s.updatedAt;
    this.currentRoutineId = s.currentRoutineId;
    this.metadata = s.metadata;
    this.checkpoint = s.checkpoint;
    this.#history = s.history.map((r) => new HistoryEntry(r.routineId, r.eventName, r.data, r.timestamp));
    this.#routineStates = s.routineStates;
    this.#pausePoints = s.pausePoints.map((p) => new PauseEntry(p.timestamp, p.reason, p.checkpoint));
    this.#deferred = s.deferredEvents;
    this.#sharedData = s.sharedData;
    this.#sharedLog = s.sharedLog;
    this.#outputLog = s.outputLog.map((o) => new OutputEntry(o.routineId, o.outputType, o.data, o.timestamp));
    data.queue.clear();
    data.delayed = undefined;
    for (const task of s.pendingTasks) {
      if (task.notBefore !== undefined) (data.delayed ??= new Map()).set(task.taskId, task);
      else data.queue.push(task);
    }
    data.slotBuffers = undefined;
    for (const b of s.slotBuffers) (data.slotBuffers ??= new Map()).set(slotKey(b.routineId, b.slotName), b.data);
    data.nextTaskId = s.nextTaskId;
    data.timeoutMs = s.timeoutMs;
    data.runningMs = s.runningMs;
  }

  #changedRoutineState(routineId: string): void {
    const data = this[kJobData];
    data.updatedAtMs = data.clock.now();
    data.tracker?.routineState(routineId);
  }
}
