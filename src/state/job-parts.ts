import { checkJsonValue, isJsonValue } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import type { JobObserver } from "./job-data.js";
import type { JournaledJob } from "./journal.js";
import type { DeferredEvent, HistoryEntry, OutputEntry, PauseEntry } from "./records.js";
import type { SharedOp, WriteSet } from "./write-set.js";

/** Shared stand-ins for parts a job has not written yet: most jobs never write most parts, and idle jobs are many. */
const NO_ENTRIES = Object.freeze([]) as unknown as never[];
const NO_VALUES = Object.freeze({}) as Payload;

/**
 * A job's committed parts as they are, whatever activation is open: what stores write.
 * @internal
 */
export interface CommittedParts {
  readonly history: readonly HistoryEntry[];
  readonly routineStates: Readonly<Record<string, Payload>>;
  readonly sharedData: Readonly<Payload>;
  readonly sharedLog: readonly unknown[];
  readonly outputLog: readonly OutputEntry[];
  readonly deferred: readonly DeferredEvent[];
  readonly pausePoints: readonly PauseEntry[];
}

/** The parts to start from: a job's, rebuilt from its snapshot. @internal */
export interface JobPartsInit {
  history: HistoryEntry[];
  routineStates: Record<string, Payload>;
  sharedData: Payload;
  sharedLog: unknown[];
  outputLog: OutputEntry[];
  deferred: DeferredEvent[];
  pausePoints: PauseEntry[];
}

/**
 * The committed parts of one job: its history, routine states, shared data and log, outputs,
 * deferred events and pause points, and how they change. What an open activation wrote is not
 * here until it commits (`apply`); the views `...In(w)` show the parts as that activation sees
 * them, its own writes included. The job around them notes each change for its journal and its
 * observer; the parts only hold the values.
 * @internal
 */
export class JobParts implements CommittedParts {
  #history: HistoryEntry[] = [];
  #routineStates: Record<string, Payload> = NO_VALUES as Record<string, Payload>;
  #pausePoints: PauseEntry[] = NO_ENTRIES;
  #deferred: DeferredEvent[] = NO_ENTRIES;
  #sharedData: Payload = NO_VALUES;
  #sharedLog: unknown[] = NO_ENTRIES;
  #outputLog: OutputEntry[] = NO_ENTRIES;

  /** Empty parts (a new job), or the given ones, used as they are (not copied). */
  constructor(init?: JobPartsInit) {
    if (init === undefined) return;
    this.#history = init.history;
    this.#routineStates = init.routineStates;
    this.#pausePoints = init.pausePoints;
    this.#deferred = init.deferred;
    this.#sharedData = init.sharedData;
    this.#sharedLog = init.sharedLog;
    this.#outputLog = init.outputLog;
  }

  get history(): readonly HistoryEntry[] {
    return this.#history;
  }

  get routineStates(): Readonly<Record<string, Payload>> {
    return this.#routineStates;
  }

  get sharedData(): Readonly<Payload> {
    return this.#sharedData;
  }

  get sharedLog(): readonly unknown[] {
    return this.#sharedLog;
  }

  get outputLog(): readonly OutputEntry[] {
    return this.#outputLog;
  }

  get deferred(): readonly DeferredEvent[] {
    return this.#deferred;
  }

  get pausePoints(): readonly PauseEntry[] {
    return this.#pausePoints;
  }

  // ---------------------------------------------------------------- as an open activation sees them

  /** The history as `w` (an open activation's write set, if any) sees it: its own records last. */
  historyIn(w: WriteSet | undefined): readonly HistoryEntry[] {
    const own = w?.history;
    return own === undefined ? this.#history : [...this.#history, ...own];
  }

  /** The routine states as `w` sees them: the ones it replaced are its own. */
  routineStatesIn(w: WriteSet | undefined): Readonly<Record<string, Payload>> {
    const own = w?.states;
    if (own === undefined) return this.#routineStates;
    const merged = { ...this.#routineStates };
    for (const [id, state] of own) merged[id] = state;
    return merged;
  }

  /** One routine's state as `w` sees it (not a copy), or undefined. */
  routineStateIn(w: WriteSet | undefined, routineId: string): Payload | undefined {
    return w?.states?.get(routineId) ?? this.#routineStates[routineId];
  }

  /** The deferred events as `w` sees them: its own last. */
  deferredIn(w: WriteSet | undefined): readonly DeferredEvent[] {
    const own = w?.deferred;
    return own === undefined ? this.#deferred : [...this.#deferred, ...own];
  }

  /** The shared data as `w` sees it: the keys it set have its values. */
  sharedDataIn(w: WriteSet | undefined): Readonly<Payload> {
    const own = w?.sharedValues;
    if (own === undefined) return this.#sharedData;
    const merged = { ...this.#sharedData };
    for (const [key, value] of own) merged[key] = value;
    return merged;
  }

  /** One shared-data key as `w` sees it, or `defaultValue` when it is not set. */
  sharedValueIn<T>(w: WriteSet | undefined, key: string, defaultValue: T | undefined): T {
    const own = w?.sharedValues;
    if (own?.has(key) === true) return own.get(key) as T;
    return (Object.hasOwn(this.#sharedData, key) ? this.#sharedData[key] : defaultValue) as T;
  }

  /** The shared log as `w` sees it: its own entries last. */
  sharedLogIn(w: WriteSet | undefined): readonly unknown[] {
    const own = w?.sharedLog;
    return own === undefined ? this.#sharedLog : [...this.#sharedLog, ...own];
  }

  /** The output log as `w` sees it: its own outputs last. */
  outputLogIn(w: WriteSet | undefined): readonly OutputEntry[] {
    const own = w?.outputs;
    return own === undefined ? this.#outputLog : [...this.#outputLog, ...own];
  }

  // ---------------------------------------------------------------- changes

  /** Appends a history entry. */
  pushHistory(entry: HistoryEntry): void {
    this.#history.push(entry);
  }

  /** Appends an output to the output log. */
  pushOutput(entry: OutputEntry): void {
    this.#outputs().push(entry);
  }

  /** Appends an entry to the shared log. */
  pushSharedLog(entry: unknown): void {
    this.#log().push(entry);
  }

  /** Sets a shared-data key (a checked one: never `__proto__`). */
  setShared(key: string, value: unknown): void {
    this.#shared()[key] = value;
  }

  /** Replaces a routine's state (used as is). */
  setRoutineState(routineId: string, state: Payload): void {
    this.#setOwn(this.#states(), routineId, state);
  }

  /** The live state object of a routine, created on first use. */
  liveRoutineState(routineId: string): Payload {
    let state = this.#routineStates[routineId];
    if (state === undefined) {
      state = {};
      this.#setOwn(this.#states(), routineId, state);
    }
    return state;
  }

  /** Sets a routine's status, in its live state (created on first use), and returns that state. */
  setRoutineStatus(routineId: string, status: string): Payload {
    let state = this.#routineStates[routineId];
    if (state === undefined) {
      state = { status };
      this.#setOwn(this.#states(), routineId, state);
    } else {
      state.status = status;
    }
    return state;
  }

  /** Stores a deferred event. */
  pushDeferred(event: DeferredEvent): void {
    if (this.#deferred === NO_ENTRIES) this.#deferred = [];
    this.#deferred.push(event);
  }

  /** Takes the deferred events, leaving none. */
  takeDeferred(): DeferredEvent[] {
    const events = this.#deferred;
    if (events.length > 0) this.#deferred = NO_ENTRIES;
    return events;
  }

  /** Records a pause point. */
  pushPausePoint(point: PauseEntry): void {
    if (this.#pausePoints === NO_ENTRIES) this.#pausePoints = [];
    this.#pausePoints.push(point);
  }

  /**
   * Applies a succeeded activation's writes, its records stamped `nowMs`, telling `observer` (when
   * one listens) of each as it takes effect.
   */
  apply(w: WriteSet, nowMs: number, job: JournaledJob, observer: JobObserver | undefined): void {
    if (w.history !== undefined) {
      for (const entry of w.history) {
        entry.timeMs = nowMs;
        this.#history.push(entry);
        observer?.record(job, entry);
      }
    }
    if (w.outputs !== undefined) {
      for (const entry of w.outputs) {
        this.#outputs().push(entry);
        observer?.output(job, entry);
      }
    }
    if (w.sharedLog !== undefined) for (const entry of w.sharedLog) this.#log().push(entry);
    if (w.sharedOps !== undefined) this.#applyShared(w.sharedOps, w.sharedValues!, job);
    if (w.states !== undefined) {
      for (const [id, state] of w.states) {
        this.#setOwn(this.#states(), id, state);
        observer?.routine(job, id, state);
      }
    }
    if (w.deferred !== undefined) {
      if (this.#deferred === NO_ENTRIES) this.#deferred = [];
      for (const event of w.deferred) this.#deferred.push(event);
    }
  }

  /** Applies an activation's shared-data writes: its values, or, when it updated, its writes again on the committed values. */
  #applyShared(ops: readonly SharedOp[], values: Map<string, unknown>, job: JournaledJob): void {
    const shared = this.#shared();
    if (!ops.some((op) => op.update !== undefined)) {
      for (const [key, value] of values) shared[key] = value;
      return;
    }
    for (const op of ops) {
      let value = op.value;
      if (op.update !== undefined) {
        try {
          const next = op.update(shared[op.key]);
          if (!isJsonValue(next)) checkJsonValue(next, `shared data '${op.key}' of job '${job.jobId}'`, `sharedData.${op.key}`);
          value = next;
        } catch {
          // It ran once already, in the handler; its value then stands.
        }
      }
      shared[op.key] = value;
      values.set(op.key, value);
    }
  }

  /**
   * The job comes to rest: arrays grown by pushes keep up to half again their length in spare
   * capacity, so they are copied to their exact size.
   */
  compact(): void {
    if (this.#history.length > 0) this.#history = this.#history.slice();
    if (this.#pausePoints.length > 0) this.#pausePoints = this.#pausePoints.slice();
    if (this.#sharedLog.length > 0) this.#sharedLog = this.#sharedLog.slice();
    if (this.#outputLog.length > 0) this.#outputLog = this.#outputLog.slice();
  }

  #setOwn(target: Record<string, Payload>, key: string, value: Payload): void {
    if (key === "__proto__") Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
    else target[key] = value;
  }

  #states(): Record<string, Payload> {
    if (this.#routineStates === NO_VALUES) this.#routineStates = {};
    return this.#routineStates;
  }

  #shared(): Payload {
    if (this.#sharedData === NO_VALUES) this.#sharedData = {};
    return this.#sharedData;
  }

  #log(): unknown[] {
    if (this.#sharedLog === NO_ENTRIES) this.#sharedLog = [];
    return this.#sharedLog;
  }

  #outputs(): OutputEntry[] {
    if (this.#outputLog === NO_ENTRIES) this.#outputLog = [];
    return this.#outputLog;
  }
}
