import { newUuid } from "../core/ids.js";
import { systemClock } from "../core/clock.js";
import { RoutiluxError, SerializationError } from "../core/errors.js";
import { checkJsonValue, isJsonValue } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import { checkKey, checkPayload, checkWritable } from "./checks.js";
import { JobData, NOTHING_IN_FLIGHT, kJobData } from "./job-data.js";
import { JobParts, type CommittedParts } from "./job-parts.js";
import { partsFromSnapshot, restoreJobData, writeSnapshot, type JobSnapshot, type JobStatus, type LiveJobStatus, type SnapshotHead } from "./job-snapshot.js";
import { deliverOutput, type OutputHandler } from "./output-handlers.js";
import { HistoryEntry, OutputEntry, PauseEntry, type DeferredEvent, type ExecutionRecord, type OutputRecord, type PausePoint } from "./records.js";
import type { PendingTask } from "./task.js";
import { openWrites, type LooseChanges, type WaitRequest, type WriteSet } from "./write-set.js";

const EMPTY: Payload = Object.freeze({});
/** A shared stand-in for metadata never set: most jobs have none, and idle jobs are many. */
const NO_METADATA = Object.freeze({}) as Payload;

/**
 * Type only: marks the classes whose `status` reads as {@link LiveJobStatus} (`JobState`); the
 * engine, which works on `JobStateCore`, reads it as `JobStatus`.
 * @internal
 */
export declare const kLiveStatus: unique symbol;

/**
 * The state of one job, without what needs documents or the engine (those are in `JobState`).
 *
 * Every write goes one of two ways. Inside a handler of this job (found through the async
 * context) it is buffered in the activation's write set: the handler reads its own writes, and
 * they take effect, all together, when it succeeds, or not at all when it fails. Anywhere else it
 * takes effect at once and, when a journal persists the job, is noted among its loose changes
 * for the next commit. Values must be plain JSON; anything else is refused where it is written.
 * @internal
 */
export class JobStateCore {
  #jobId: string;
  /** The id of the flow the job belongs to; it resumes only on a flow with this id. */
  flowId: string;
  #status: JobStatus = "pending";
  /** The routine whose handler started last, if any. */
  currentRoutineId: string | undefined;
  #metadata: Payload = NO_METADATA;
  #checkpoint: Payload | undefined;
  /** History, routine states, shared data and log, outputs, deferred events, pause points. */
  #parts = new JobParts();
  /** @internal */
  readonly [kJobData]: JobData;

  /**
   * Where the job is: "pending", "running", "completed", "failed", "paused" or "cancelled".
   *
   * It changes while the job runs, also during an `await` of the code that reads it, so on a
   * `JobState` it is typed {@link LiveJobStatus}: TypeScript narrows property reads and does not
   * forget a narrowing at an `await`, and with a plain union of the six values
   * `if (job.status === "running") { await job.result(); if (job.status === "completed") ... }`
   * would not compile.
   */
  get status(): this extends { readonly [kLiveStatus]: true } ? LiveJobStatus : JobStatus {
    return this.#status;
  }

  set status(value: JobStatus) {
    this.#status = value;
  }

  /** A new job in status "pending" with a fresh UUID `jobId`. Usually made by `flow.execute()`. */
  constructor(flowId = "") {
    this.#jobId = newUuid();
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

  /**
   * Custom data about the job (given to `execute`); serialized and persisted with it. Plain JSON.
   * Assign a new object to persist a change at once; a change made in place is written with the
   * job's next commit of its job-level fields.
   */
  get metadata(): Record<string, unknown> {
    if (this.#metadata === NO_METADATA) this.#metadata = {};
    return this.#metadata;
  }

  set metadata(value: Record<string, unknown>) {
    checkWritable(this);
    checkJsonValue(checkPayload(value, `the metadata of job '${this.#jobId}'`), `the metadata of job '${this.#jobId}'`, "metadata");
    this.#metadata = value;
    this[kJobData].noteJobFields(this);
  }

  /** The checkpoint given to the last `flow.pause`, if any. */
  get checkpoint(): Record<string, unknown> | undefined {
    return this.#checkpoint;
  }

  set checkpoint(value: Record<string, unknown> | undefined) {
    checkWritable(this);
    if (value !== undefined) checkJsonValue(checkPayload(value, "a checkpoint"), `the checkpoint of job '${this.#jobId}'`, "checkpoint");
    this.#checkpoint = value;
    this[kJobData].noteJobFields(this);
  }

  /** The store revision of this copy: the sequence number of its last commit (0 when never stored). */
  get revision(): number {
    return this[kJobData].revision;
  }

  /** The chronological log of the job: start, emits, errors, retries, pauses, resumes, the end. */
  get executionHistory(): readonly ExecutionRecord[] {
    return this.#parts.historyIn(openWrites(this));
  }

  /** Per routine that ran: `status` ("running", "completed", "failed", "error_continued", "skipped") and what handlers added. */
  get routineStates(): Readonly<Record<string, Record<string, unknown>>> {
    return this.#parts.routineStatesIn(openWrites(this));
  }

  /** Every pause of the job, oldest first. */
  get pausePoints(): readonly PausePoint[] {
    return this.#parts.pausePoints;
  }

  /** Events stored by `emitDeferredEvent`, to be emitted (and cleared) when the job is resumed. */
  get deferredEvents(): readonly DeferredEvent[] {
    return this.#parts.deferredIn(openWrites(this));
  }

  /** The job's queued tasks and waiting retries: what runs next, and what a paused job resumes with. */
  get pendingTasks(): readonly PendingTask[] {
    return this[kJobData].pendingTasks();
  }

  /** The job's business data, read and written by its routines; see {@link JobStateCore.updateSharedData}. */
  get sharedData(): Readonly<Record<string, unknown>> {
    return this.#parts.sharedDataIn(openWrites(this));
  }

  /** The job's append-only business log; see {@link JobStateCore.appendToSharedLog}. */
  get sharedLog(): readonly unknown[] {
    return this.#parts.sharedLogIn(openWrites(this));
  }

  /** Every output sent in the job (`sendOutput`), oldest first. */
  get outputLog(): readonly OutputRecord[] {
    return this.#parts.outputLogIn(openWrites(this));
  }

  /** The inputs the job waits for (`ctx.waitForInput`); empty when it waits for none. */
  get waitingFor(): readonly WaitRequest[] {
    return this[kJobData].waitingFor ?? [];
  }

  /** The history, or only the records of one routine. */
  getExecutionHistory(routineId?: string): ExecutionRecord[] {
    const all = this.executionHistory;
    return routineId === undefined ? [...all] : all.filter((r) => r.routineId === routineId);
  }

  /** Appends a record to the history (inside a handler: when its activation succeeds). Plain JSON data. */
  recordExecution(routineId: string, eventName: string, data: Record<string, unknown> = EMPTY): void {
    checkWritable(this);
    if (!isJsonValue(data)) checkJsonValue(data, `the data of record '${routineId}.${eventName}' in job '${this.#jobId}'`, "data");
    this.#parts.record(this, openWrites(this), new HistoryEntry(routineId, eventName, data, this[kJobData].clock.now()));
  }

  /** A copy of a routine's state, or undefined if it has none. */
  getRoutineState(routineId: string): Record<string, unknown> | undefined {
    const state = this.#parts.routineStateIn(openWrites(this), routineId);
    return state === undefined ? undefined : { ...state };
  }

  /** Replaces a routine's state (inside a handler: when its activation succeeds). Plain JSON. */
  updateRoutineState(routineId: string, state: Record<string, unknown>): void {
    checkWritable(this);
    const copy = { ...checkPayload(state, `the state of routine '${routineId}'`) };
    if (!isJsonValue(copy)) checkJsonValue(copy, `the state of routine '${routineId}' in job '${this.#jobId}'`, `routineStates.${routineId}`);
    this.#parts.setRoutineState(this, openWrites(this), routineId, copy);
  }

  /** Sets one key of the job's shared data (inside a handler: when its activation succeeds). Plain JSON. */
  updateSharedData(key: string, value: unknown): void {
    this.writeSharedData(openWrites(this), key, value);
  }

  /** @internal Sets a shared-data key in `w` (an open activation's write set) or, when undefined, at once. */
  writeSharedData(w: WriteSet | undefined, key: string, value: unknown): void {
    checkWritable(this);
    checkKey(key, this.#jobId);
    if (!isJsonValue(value)) checkJsonValue(value, `shared data '${key}' of job '${this.#jobId}'`, `sharedData.${key}`);
    this.#parts.setShared(this, w, key, value);
  }

  /**
   * @internal Updates a shared-data key with `fn` of its current value, in `w` (an open
   * activation's write set) or, when undefined, at once. In an activation, `fn` runs now (the
   * handler reads the result) and again on the committed value when the activation commits, so
   * updates of one key by concurrent handlers are never lost. `fn` should be pure.
   */
  updateSharedDataWith<T>(w: WriteSet | undefined, key: string, fn: (previous: T | undefined) => T): T {
    checkWritable(this);
    checkKey(key, this.#jobId);
    const next = fn(this.readSharedData<T | undefined>(w, key, undefined));
    if (!isJsonValue(next)) checkJsonValue(next, `shared data '${key}' of job '${this.#jobId}'`, `sharedData.${key}`);
    this.#parts.setShared(this, w, key, next, fn as (previous: unknown) => unknown);
    return next;
  }

  /** @internal A shared-data key as `w` (an open activation's write set) sees it. */
  readSharedData<T>(w: WriteSet | undefined, key: string, defaultValue?: T): T {
    return this.#parts.sharedValueIn(w, key, defaultValue);
  }

  /** One key of the job's shared data, or `defaultValue` when it is not set. */
  getSharedData<T = unknown>(key: string, defaultValue?: T): T {
    return this.readSharedData(openWrites(this), key, defaultValue);
  }

  /** Appends an entry (a JSON value) to the job's shared log (inside a handler: when its activation succeeds). */
  appendToSharedLog(entry: unknown): void {
    checkWritable(this);
    if (entry === undefined) throw new SerializationError(`Cannot write a shared-log entry of job '${this.#jobId}': it is undefined, which JSON cannot hold (use null)`, { path: "sharedLog" });
    if (!isJsonValue(entry)) checkJsonValue(entry, `a shared-log entry of job '${this.#jobId}'`, "sharedLog");
    this.#parts.appendSharedLog(this, openWrites(this), entry);
  }

  /** A copy of the shared log. */
  getSharedLog(): unknown[] {
    return [...this.sharedLog];
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
   * Passes an output to the output handler at once and appends it to `outputLog` (inside a
   * handler: when its activation succeeds, so a failed attempt's outputs reach the handler but
   * not the log). A handler that throws is recorded as `(routineId, "output_error", ...)` and does
   * not fail the job.
   */
  sendOutput(routineId: string, outputType: string, data: Record<string, unknown> = EMPTY): void {
    this.writeOutput(openWrites(this), routineId, outputType, data);
  }

  /** @internal Sends an output, logged in `w` (an open activation's write set) or, when undefined, at once. */
  writeOutput(w: WriteSet | undefined, routineId: string, outputType: string, data: Record<string, unknown>): void {
    checkWritable(this);
    if (!isJsonValue(data)) checkJsonValue(data, `the data of output '${outputType}' of routine '${routineId}' in job '${this.#jobId}'`, "data");
    const jobData = this[kJobData];
    const entry = new OutputEntry(routineId, outputType, data, jobData.clock.now());
    this.#parts.output(this, w, entry);
    const handler = jobData.outputHandler;
    if (handler === undefined) return;
    const failure = deliverOutput(handler, this.#jobId, entry);
    if (failure !== undefined) {
      const record = { outputType, error: failure.message, errorType: failure.type };
      this.#parts.record(this, w, new HistoryEntry(routineId, "output_error", record, jobData.clock.now()));
    }
  }

  /** Stores an event to emit when the job is resumed (inside a handler: when its activation succeeds). */
  addDeferredEvent(routineId: string, eventName: string, data: Record<string, unknown> = EMPTY): void {
    this.writeDeferredEvent(openWrites(this), routineId, eventName, data);
  }

  /** @internal Stores a deferred event in `w` (an open activation's write set) or, when undefined, at once. */
  writeDeferredEvent(w: WriteSet | undefined, routineId: string, eventName: string, data: Record<string, unknown>): void {
    checkWritable(this);
    if (!isJsonValue(data)) checkJsonValue(data, `the data of deferred event '${routineId}.${eventName}' in job '${this.#jobId}'`, "data");
    this.#parts.defer(this, w, { routineId, eventName, data });
  }

  // ---------------------------------------------------------------- engine and store side

  /**
   * @internal Engine: the job comes to rest (paused at rest, or ended): arrays grown by pushes keep
   * up to half again their length in spare capacity, so they are copied to their exact size. Idle
   * jobs are many; this is what lets a process hold them.
   */
  compact(): void {
    this.#parts.compact();
    const data = this[kJobData];
    if (data.inFlight.length === 0) data.inFlight = NOTHING_IN_FLIGHT;
  }

  /** @internal Engine: appends a record outside any activation. */
  pushRecord(routineId: string, eventName: string, data: Payload, nowMs: number): void {
    this.#parts.record(this, undefined, new HistoryEntry(routineId, eventName, data, nowMs));
  }

  /** @internal Engine: the live state object of a routine, created on first use. */
  liveRoutineState(routineId: string): Payload {
    return this.#parts.liveRoutineState(routineId);
  }

  /** @internal A routine state changed outside any activation: note it and tell the observer. */
  routineStateChanged(routineId: string): void {
    this.#parts.routineStateChanged(this, routineId);
  }

  /** @internal Engine hot path: sets a routine's status; an activation's commit carries it to the store. */
  setRoutineStatus(routineId: string, status: string): Payload {
    return this.#parts.setRoutineStatus(this, routineId, status);
  }

  /** @internal Engine: a job-level field changed (status, pause points, time limit, inputs waited for). */
  jobFieldsChanged(): void {
    this[kJobData].noteJobFields(this);
  }

  /** @internal Engine: notes tasks queued outside any activation, and whether the pending set was dropped first. */
  tasksChanged(added: readonly PendingTask[], cleared: boolean): void {
    this[kJobData].noteTasks(this, added, cleared);
  }

  /** @internal Engine: notes delayed tasks withdrawn outside any activation. */
  tasksRemoved(taskIds: readonly number[]): void {
    this[kJobData].noteTasksRemoved(this, taskIds);
  }

  /** @internal Engine: a slot buffer's durable value changed outside an activation's commit. */
  bufferChanged(key: string): void {
    this[kJobData].noteBuffer(this, key);
  }

  /**
   * @internal Engine: applies a succeeded activation's writes, its records stamped `nowMs`. Not
   * noted as loose: the activation's commit carries them.
   */
  applyWrites(w: WriteSet, nowMs: number): void {
    this.#parts.apply(this, w, nowMs);
  }

  /** @internal The job's committed parts, whatever activation is open (what stores write). */
  committed(): CommittedParts {
    return this.#parts;
  }

  /** @internal Takes the loose changes for a commit, leaving none. */
  takeLoose(): LooseChanges | undefined {
    return this[kJobData].takeLoose();
  }

  /** @internal Engine: records a pause point. */
  addPausePoint(nowMs: number, reason: string, checkpoint: Payload | undefined): void {
    this.#parts.pushPausePoint(new PauseEntry(nowMs, reason, checkpoint));
    if (checkpoint !== undefined) this.#checkpoint = checkpoint;
    this[kJobData].noteJobFields(this);
  }

  /** @internal Engine: takes the deferred events, leaving none. */
  takeDeferredEvents(): DeferredEvent[] {
    return this.#parts.takeDeferred(this);
  }

  /** @internal Every part of the job as plain data; slot buffers at their durable value. */
  toSnapshot(): JobSnapshot {
    const head: SnapshotHead = {
      jobId: this.#jobId, flowId: this.flowId, status: this.#status,
      currentRoutineId: this.currentRoutineId, metadata: this.#metadata, checkpoint: this.#checkpoint,
    };
    return writeSnapshot(head, this.#parts, this[kJobData]);
  }

  /**
   * @internal Replaces every part of the job with a snapshot's. The snapshot must already be
   * validated; it is used as is (not copied), so callers pass a fresh one.
   */
  restoreSnapshot(s: JobSnapshot): void {
    this.#jobId = s.jobId;
    this.flowId = s.flowId;
    this.#status = s.status;
    this.currentRoutineId = s.currentRoutineId;
    this.#metadata = s.metadata;
    this.#checkpoint = s.checkpoint;
    this.#parts = partsFromSnapshot(s);
    restoreJobData(this[kJobData], s);
  }
}
