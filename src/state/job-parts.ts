import { setOwn } from "../core/json-value.js";
import { appended } from "../core/lists.js";
import type { Payload } from "../core/slot.js";
import { kJobData, type JobData, type JobObserver } from "./job-data.js";
import type { JournaledJob } from "./journal.js";
import type { DeferredEvent, HistoryEntry, OutputEntry, PauseEntry } from "./records.js";
import { applySharedOps, type WriteSet } from "./write-set.js";

/** Shared stand-ins for parts a job has not written yet: most jobs never write most parts, and idle jobs are many. */
const NO_ENTRIES = Object.freeze([]) as unknown as never[];
const NO_VALUES = Object.freeze({}) as Payload;
const EMPTY: Payload = Object.freeze({});

/** The job whose parts change: its id names it in messages; its engine data holds its clock, journal and observer. @internal */
export interface PartsOwner extends JournaledJob {
  readonly [kJobData]: JobData;
}

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
 * them, its own writes included. Values come checked: the job checks what user code writes.
 *
 * A job holds one, so its helpers are functions, not #private methods: a class with private
 * methods carries a brand in each instance, and idle jobs are many. A part never written is a
 * shared frozen stand-in, replaced by its own object on the first write.
 * @internal
 */
export class JobParts implements CommittedParts {
  #history: HistoryEntry[] = [];
  #routineStates: Record<string, Payload> = NO_VALUES as Record<string, Payload>;
  #pausePoints: PauseEntry[] = NO_ENTRIES;
  #sharedData: Payload = NO_VALUES;
  /** Deferred events, shared log and outputs: most jobs write none of them. */
  #more: MoreParts | undefined;

  /** Empty parts (a new job), or the given ones, used as they are (not copied; an empty rare part stays a stand-in). */
  constructor(init?: JobPartsInit) {
    if (init === undefined) return;
    this.#history = init.history;
    this.#routineStates = init.routineStates;
    this.#pausePoints = init.pausePoints;
    this.#sharedData = init.sharedData;
    if (init.deferred.length > 0 || init.sharedLog.length > 0 || init.outputLog.length > 0) {
      const more = (this.#more = new MoreParts());
      more.deferred = init.deferred;
      more.sharedLog = init.sharedLog;
      more.outputLog = init.outputLog;
    }
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
    return this.#more?.sharedLog ?? NO_ENTRIES;
  }

  get outputLog(): readonly OutputEntry[] {
    return this.#more?.outputLog ?? NO_ENTRIES;
  }

  get deferred(): readonly DeferredEvent[] {
    return this.#more?.deferred ?? NO_ENTRIES;
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
    return own === undefined ? this.deferred : [...this.deferred, ...own];
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
    return own === undefined ? this.sharedLog : [...this.sharedLog, ...own];
  }

  /** The output log as `w` sees it: its own outputs last. */
  outputLogIn(w: WriteSet | undefined): readonly OutputEntry[] {
    const own = w?.outputs;
    return own === undefined ? this.outputLog : [...this.outputLog, ...own];
  }

  // ---------------------------------------------------------------- changes
  // Each goes one of two ways: into `w`, an open activation's write set, to take effect when it
  // commits; or, with no `w`, at once: the job's time moves, its journal notes the change among
  // its loose changes, and its observer is told.

  /** Appends a history entry. */
  record(job: PartsOwner, w: WriteSet | undefined, entry: HistoryEntry): void {
    if (w !== undefined) {
      w.addHistory(entry);
      return;
    }
    this.#history.push(entry);
    const data = job[kJobData];
    data.updatedAtMs = entry.timeMs;
    const loose = data.looseChanges(job);
    if (loose !== undefined) (loose.history ??= []).push(entry);
    if (data.observer?.active === true) data.observer.record(job, entry);
  }

  /** Appends an output to the output log. */
  output(job: PartsOwner, w: WriteSet | undefined, entry: OutputEntry): void {
    if (w !== undefined) {
      w.outputs = appended(w.outputs, entry);
      return;
    }
    const more = (this.#more ??= new MoreParts());
    if (more.outputLog === NO_ENTRIES) more.outputLog = [];
    more.outputLog.push(entry);
    const data = job[kJobData];
    data.updatedAtMs = entry.timeMs;
    const loose = data.looseChanges(job);
    if (loose !== undefined) (loose.outputs ??= []).push(entry);
    if (data.observer?.active === true) data.observer.output(job, entry);
  }

  /** Appends an entry to the shared log. */
  appendSharedLog(job: PartsOwner, w: WriteSet | undefined, entry: unknown): void {
    if (w !== undefined) {
      w.sharedLog = appended(w.sharedLog, entry);
      return;
    }
    const more = (this.#more ??= new MoreParts());
    if (more.sharedLog === NO_ENTRIES) more.sharedLog = [];
    more.sharedLog.push(entry);
    const data = job[kJobData];
    data.updatedAtMs = data.clock.now();
    const loose = data.looseChanges(job);
    if (loose !== undefined) (loose.sharedLog ??= []).push(entry);
  }

  /**
   * Sets a shared-data key (a checked one: never `__proto__`). In `w`, an `update` is kept with
   * the value: it runs again on the committed value when the activation commits.
   */
  setShared(job: PartsOwner, w: WriteSet | undefined, key: string, value: unknown, update?: (previous: unknown) => unknown): void {
    if (w !== undefined) {
      (w.sharedValues ??= new Map()).set(key, value);
      w.sharedOps = appended(w.sharedOps, update === undefined ? { key, value } : { key, value, update });
      return;
    }
    if (this.#sharedData === NO_VALUES) this.#sharedData = {};
    this.#sharedData[key] = value;
    const data = job[kJobData];
    data.updatedAtMs = data.clock.now();
    const loose = data.looseChanges(job);
    if (loose !== undefined) (loose.sharedKeys ??= new Set()).add(key);
  }

  /** Replaces a routine's state (used as is). */
  setRoutineState(job: PartsOwner, w: WriteSet | undefined, routineId: string, state: Payload): void {
    if (w !== undefined) {
      (w.states ??= new Map()).set(routineId, state);
      return;
    }
    if (this.#routineStates === NO_VALUES) this.#routineStates = {};
    setOwn(this.#routineStates, routineId, state);
    this.routineStateChanged(job, routineId);
  }

  /** A routine's state changed outside any activation (set, or changed in place): note it and tell the observer. */
  routineStateChanged(job: PartsOwner, routineId: string): void {
    const data = job[kJobData];
    data.updatedAtMs = data.clock.now();
    const loose = data.looseChanges(job);
    if (loose !== undefined) (loose.stateIds ??= new Set()).add(routineId);
    if (data.observer?.active === true) data.observer.routine(job, routineId, this.#routineStates[routineId] ?? EMPTY);
  }

  /** Engine: the live state object of a routine, created on first use (changed in place, at once). */
  liveRoutineState(routineId: string): Payload {
    let state = this.#routineStates[routineId];
    if (state === undefined) {
      state = {};
      if (this.#routineStates === NO_VALUES) this.#routineStates = {};
      setOwn(this.#routineStates, routineId, state);
    }
    return state;
  }

  /**
   * Engine hot path: sets a routine's status in its live state (created on first use), tells the
   * observer and returns the state. Not noted as loose: an activation's commit carries it.
   */
  setRoutineStatus(job: PartsOwner, routineId: string, status: string): Payload {
    let state = this.#routineStates[routineId];
    if (state === undefined) {
      state = { status };
      if (this.#routineStates === NO_VALUES) this.#routineStates = {};
      setOwn(this.#routineStates, routineId, state);
    } else {
      state.status = status;
    }
    const observer = job[kJobData].observer;
    if (observer?.active === true) observer.routine(job, routineId, state);
    return state;
  }

  /** Stores an event to emit when the job is resumed. */
  defer(job: PartsOwner, w: WriteSet | undefined, event: DeferredEvent): void {
    if (w !== undefined) {
      w.deferred = appended(w.deferred, event);
      return;
    }
    const more = (this.#more ??= new MoreParts());
    if (more.deferred === NO_ENTRIES) more.deferred = [];
    more.deferred.push(event);
    const loose = job[kJobData].looseChanges(job);
    if (loose !== undefined) (loose.deferred ??= []).push(event);
  }

  /** Engine: takes the deferred events, leaving none (at once). */
  takeDeferred(job: PartsOwner): DeferredEvent[] {
    const more = this.#more;
    if (more === undefined) return NO_ENTRIES;
    const events = more.deferred;
    if (events.length > 0) {
      more.deferred = NO_ENTRIES;
      const loose = job[kJobData].looseChanges(job);
      if (loose !== undefined) {
        loose.deferredReset = true;
        loose.deferred = undefined;
      }
    }
    return events;
  }

  /** Engine: records a pause point (the job notes its job-level fields as changed). */
  pushPausePoint(point: PauseEntry): void {
    if (this.#pausePoints === NO_ENTRIES) this.#pausePoints = [];
    this.#pausePoints.push(point);
  }

  /**
   * Engine: applies a succeeded activation's writes, its records stamped `nowMs`, telling the
   * observer of each as it takes effect. Not noted as loose: the activation's commit carries them.
   */
  apply(job: PartsOwner, w: WriteSet, nowMs: number): void {
    const live = job[kJobData].observer;
    const observer = live?.active === true ? live : undefined;
    const first = w.history1;
    if (first !== undefined) {
      this.#stamp(job, observer, first, nowMs);
      const rest = w.historyRest;
      if (rest !== undefined) for (let i = 0; i < rest.length; i++) this.#stamp(job, observer, rest[i]!, nowMs);
    }
    if (w.outputs !== undefined) {
      const more = (this.#more ??= new MoreParts());
      if (more.outputLog === NO_ENTRIES) more.outputLog = [];
      for (const entry of w.outputs) {
        more.outputLog.push(entry);
        observer?.output(job, entry);
      }
    }
    if (w.sharedLog !== undefined) {
      const more = (this.#more ??= new MoreParts());
      if (more.sharedLog === NO_ENTRIES) more.sharedLog = [];
      for (const entry of w.sharedLog) more.sharedLog.push(entry);
    }
    if (w.sharedOps !== undefined) {
      if (this.#sharedData === NO_VALUES) this.#sharedData = {};
      applySharedOps(this.#sharedData, w.sharedOps, w.sharedValues!, job.jobId);
    }
    if (w.states !== undefined) {
      if (this.#routineStates === NO_VALUES) this.#routineStates = {};
      for (const [id, state] of w.states) {
        setOwn(this.#routineStates, id, state);
        observer?.routine(job, id, state);
      }
    }
    if (w.deferred !== undefined) {
      const more = (this.#more ??= new MoreParts());
      if (more.deferred === NO_ENTRIES) more.deferred = [];
      for (const event of w.deferred) more.deferred.push(event);
    }
  }

  /** A record of a succeeded activation takes effect: stamped, appended, and told to the observer. */
  #stamp(job: PartsOwner, observer: JobObserver | undefined, entry: HistoryEntry, nowMs: number): void {
    entry.timeMs = nowMs;
    this.#history.push(entry);
    observer?.record(job, entry);
  }

  /**
   * Engine: the job comes to rest: arrays grown by pushes keep up to half again their length in spare
   * capacity, so they are copied to their exact size.
   */
  compact(): void {
    if (this.#history.length > 0) this.#history = this.#history.slice();
    if (this.#pausePoints.length > 0) this.#pausePoints = this.#pausePoints.slice();
    const more = this.#more;
    if (more === undefined) return;
    if (more.sharedLog.length > 0) more.sharedLog = more.sharedLog.slice();
    if (more.outputLog.length > 0) more.outputLog = more.outputLog.slice();
  }
}

/** The parts most jobs never write, made on the first write of one; each is a stand-in until written. */
class MoreParts {
  deferred: DeferredEvent[] = NO_ENTRIES;
  sharedLog: unknown[] = NO_ENTRIES;
  outputLog: OutputEntry[] = NO_ENTRIES;
}
