import { currentContext } from "../core/context.js";
import { StoreError, describeError } from "../core/errors.js";
import type { TaskContext } from "../runtime/job-run.js";
import { findNonJson, formatPath } from "../serialization/json-check.js";
import { kJobData, splitSlotKey, type ChangeTracker, type JobData, type JobState } from "../state/job-state.js";
import type { DeferredEvent, HistoryEntry, OutputEntry, PauseEntry } from "../state/records.js";
import type { PendingTask } from "../state/task.js";
import { baseCommit, historyRow, jobFields, keepsInFlight, outputRow, pauseRow, type CommitData } from "./commit-format.js";
import type { StoredCommit } from "./job-store.js";

const HISTORY = 0;
const SHARED_LOG = 1;
const OUTPUT = 2;
const SHARED_DATA = 3;
const ROUTINE_STATE = 4;
const SLOT_BUFFER = 5;
const DEFERRED_ADD = 6;
const DEFERRED_RESET = 7;

/**
 * A snapshot is written once the log since the last one is this large, or as large as that
 * snapshot, whichever is more: snapshot cost stays proportional to log written (amortized O(1)
 * per commit) and loading reads at most about twice the job's size.
 */
const SNAPSHOT_MIN_LOG_BYTES = 64 * 1024;

/**
 * One change not yet committed, and the task whose activation made it (undefined: none). An
 * append holds its entry; a value change holds the value as JSON text, taken when it was made
 * (undefined: removed), because by commit time a running activation may have changed it again.
 */
class Change {
  readonly kind: number;
  readonly owner: PendingTask | undefined;
  readonly key: string;
  entry: unknown;

  constructor(kind: number, owner: PendingTask | undefined, key: string, entry: unknown) {
    this.kind = kind;
    this.owner = owner;
    this.key = key;
    this.entry = entry;
  }
}

/** Captured values by kind (index SHARED_DATA, ROUTINE_STATE, SLOT_BUFFER): key to value, the last change winning. */
type Values = Array<Map<string, unknown> | undefined>;

/**
 * A commit handed to the writer: a full-state snapshot, encoded at once, or a delta, encoded
 * when it is written (so a delta that a later snapshot in the same group commit supersedes costs
 * no encoding). What a delta holds cannot change meanwhile: values were captured when they
 * changed, and appended entries, payloads and tasks are never changed once handed to the job.
 * @internal
 */
export class TrackedCommit implements StoredCommit {
  readonly seq: number;
  readonly snapshot: boolean;
  #text: string | undefined;
  #body: CommitData | undefined;
  #values: Values | undefined;
  readonly #tracker: JobTracker;

  constructor(tracker: JobTracker, seq: number, snapshot: boolean, text: string | undefined, body?: CommitData, values?: Values) {
    this.#tracker = tracker;
    this.seq = seq;
    this.snapshot = snapshot;
    this.#text = text;
    this.#body = body;
    this.#values = values;
  }

  /** Encodes it now (a job-level commit holds user objects that may change later). */
  encodeNow(): this {
    void this.data;
    return this;
  }

  /** The commit as JSON text, encoded on first read; throws a StoreError when it holds what JSON cannot. */
  get data(): string {
    if (this.#text === undefined) {
      const text = withValues(this.#tracker.encode(this.#body!), this.#values!);
      this.#text = text;
      this.#body = undefined;
      this.#values = undefined;
      this.#tracker.countLog(text.length);
    }
    return this.#text;
  }
}

/**
 * Tracks one job's changes between commits, for one store. Every change is attributed as it
 * happens: to the activation whose handler made it (found with `currentContext()`), or to
 * nobody (engine bookkeeping, user code outside a handler). A commit takes every change whose
 * activation is no longer running, in the order they were made, and leaves the changes of
 * activations still running for their own commits: so a crash before a task's commit leaves no
 * trace of what its handler did, and the task runs again on recovery.
 *
 * A value (a shared-data key, a routine state, a slot buffer) is written as it was at the last
 * change a commit takes, never as it is now: two activations may change one key in turn. Slot
 * merges happen as a task is dispatched, in dispatch order, and are committed with the task: if
 * two activations of one merging slot of one job are in flight at a crash and the later-merged
 * one has committed, the earlier one's merge is applied twice on recovery.
 * @internal
 */
export class JobTracker implements ChangeTracker {
  readonly job: JobState;
  readonly data: JobData;
  /** The journal this tracker commits to. */
  readonly journal: object;
  /** The sequence number of the last commit built. */
  #seq = 0;
  #changes: Change[] = [];
  /** Pause points already committed (they are appended by job-level changes only). */
  #pausePoints: number;
  /** Nothing of this incarnation is in the store yet: the first commit is a snapshot. */
  #needsBase = true;
  #logBytes = 0;
  #snapshotBytes = 0;
  /** The last pending change of each value key, by kind: a repeat by the same owner just replaces its value. */
  readonly #lastValue = [new Map<string, Change>(), new Map<string, Change>(), new Map<string, Change>()];
  /** A value JSON cannot hold was given (the error and what held it): the next commit fails with it. */
  #unwritable: { error: unknown; what: string } | undefined;
  /** The store may hold log rows of this job (from an earlier incarnation, or from this one). */
  mayHaveLog: boolean;

  constructor(job: JobState, journal: object) {
    this.job = job;
    this.data = job[kJobData];
    this.journal = journal;
    this.#pausePoints = job.pausePoints.length;
    // A job attached while "pending" was just made by flow.execute(): the store has nothing of it.
    this.mayHaveLog = job.status !== "pending";
  }

  // ---------------------------------------------------------------- ChangeTracker

  history(entry: HistoryEntry): void {
    this.#add(HISTORY, "", entry);
  }

  sharedLog(entry: unknown): void {
    this.#add(SHARED_LOG, "", entry);
  }

  output(entry: OutputEntry): void {
    this.#add(OUTPUT, "", entry);
  }

  sharedData(key: string): void {
    const data = this.job.sharedData;
    this.#addValue(SHARED_DATA, key, this.#owner(), this.#json(SHARED_DATA, key, Object.hasOwn(data, key) ? data[key] : undefined));
  }

  routineState(routineId: string): void {
    const states = this.job.routineStates;
    // A shallow copy: the engine changes a routine state's fields in place.
    this.#addValue(ROUTINE_STATE, routineId, this.#owner(), Object.hasOwn(states, routineId) ? { ...states[routineId] } : undefined);
  }

  slotBuffer(key: string, task?: PendingTask): void {
    this.#addValue(SLOT_BUFFER, key, task ?? this.#owner(), this.#json(SLOT_BUFFER, key, this.data.slotBuffers?.get(key)));
  }

  deferred(): void {
    const events = this.job.deferredEvents;
    if (events.length > 0) {
      this.#add(DEFERRED_ADD, "", events[events.length - 1]);
      return;
    }
    // Taken (on resume): events added before, even by a running activation, are gone with them.
    this.#changes = this.#changes.filter((c) => c.kind !== DEFERRED_ADD);
    this.#add(DEFERRED_RESET, "", undefined);
  }

  #owner(): PendingTask | undefined {
    const ctx = currentContext() as TaskContext | undefined;
    return ctx !== undefined && ctx.jobState === this.job ? ctx.task : undefined;
  }

  #add(kind: number, key: string, entry: unknown): void {
    this.#changes.push(new Change(kind, this.#owner(), key, entry));
  }

  /** A value as JSON text, taken now (user code may change the object in place later). */
  #json(kind: number, key: string, value: unknown): string | undefined {
    try {
      return value === undefined ? undefined : JSON.stringify(value);
    } catch (error) {
      const name = kind === SHARED_DATA ? "shared data" : "the slot buffer";
      this.#unwritable ??= { error, what: `${name} '${key.replace("\u0000", ".")}'` };
      return undefined;
    }
  }

  /** A value change; the last pending change of the key by the same owner just takes the new value. */
  #addValue(kind: number, key: string, owner: PendingTask | undefined, value: unknown): void {
    const last = this.#lastValue[kind - SHARED_DATA]!;
    const previous = last.get(key);
    if (previous !== undefined && previous.owner === owner) {
      previous.entry = value;
      return;
    }
    const change = new Change(kind, owner, key, value);
    this.#changes.push(change);
    last.set(key, change);
  }

  /** Counts a delta's encoded size toward the next snapshot. */
  countLog(bytes: number): void {
    this.#logBytes += bytes;
  }

  /** Encodes a commit; throws a StoreError naming what JSON cannot hold. */
  encode(c: CommitData): string {
    try {
      return JSON.stringify(c);
    } catch (error) {
      throw this.#failure(error, c);
    }
  }

  // ---------------------------------------------------------------- commits

  /**
   * Builds the next commit: a task's (`consumed` and the tasks it `added`) or a job-level one
   * (status, job fields and the whole pending set). It is a full-state snapshot instead when the
   * store has nothing of this incarnation yet, or when no running activation holds changes and
   * the job rests or its log has grown. Throws a StoreError when the job holds what JSON cannot.
   */
  commit(consumed: PendingTask | undefined, added: readonly PendingTask[], jobLevel: boolean): TrackedCommit {
    if (this.#unwritable !== undefined) throw this.#failure(this.#unwritable.error, undefined, this.#unwritable.what);
    const job = this.job;
    const data = this.data;
    const c: CommitData = { s: job.status, u: data.updatedAtMs, n: data.nextTaskId };
    if (job.currentRoutineId !== undefined) c.cr = job.currentRoutineId;
    if (jobLevel) {
      c.j = jobFields(job);
      c.p = data.pendingTasks(keepsInFlight(job.status));
      const points = job.pausePoints as readonly PauseEntry[];
      if (points.length > this.#pausePoints) c.pp = points.slice(this.#pausePoints).map(pauseRow);
      this.#pausePoints = points.length;
    }
    if (consumed !== undefined) c.c = consumed.taskId;
    if (added.length > 0) c.a = added as PendingTask[];
    const values: Values = [];
    const held = this.#take(c, values);
    const status = job.status;
    const snapshot = this.#needsBase ||
      (!held && (status !== "running" || this.#logBytes >= Math.max(SNAPSHOT_MIN_LOG_BYTES, this.#snapshotBytes)));
    if (snapshot) {
      // A base right after attach is exact: the engine attaches a job only with nothing in flight.
      this.#changes = [];
      for (const map of this.#lastValue) map.clear();
      this.#needsBase = false;
      this.#pausePoints = job.pausePoints.length;
      const text = this.encode(baseCommit(job));
      this.#snapshotBytes = text.length;
      this.#logBytes = 0;
      return new TrackedCommit(this, ++this.#seq, true, text);
    }
    // Job fields (metadata, checkpoint) are user objects, so a job-level commit is encoded now.
    if (jobLevel) return new TrackedCommit(this, ++this.#seq, false, undefined, c, values).encodeNow();
    return new TrackedCommit(this, ++this.#seq, false, undefined, c, values);
  }

  /**
   * Moves every change whose activation no longer runs into `c` (values into `values`, by kind:
   * key to JSON text, the last change winning); true when some are held back.
   */
  #take(c: CommitData, values: Values): boolean {
    const changes = this.#changes;
    if (changes.length === 0) return false;
    const inFlight = this.data.inFlight;
    let kept = 0;
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i]!;
      if (change.owner !== undefined && inFlight.includes(change.owner)) {
        changes[kept++] = change;
        continue;
      }
      switch (change.kind) {
        case HISTORY:
          (c.h ??= []).push(historyRow(change.entry as HistoryEntry));
          break;
        case SHARED_LOG:
          (c.l ??= []).push(change.entry);
          break;
        case OUTPUT:
          (c.o ??= []).push(outputRow(change.entry as OutputEntry));
          break;
        case DEFERRED_ADD: {
          const event = change.entry as DeferredEvent;
          (c.e ??= []).push([event.routineId, event.eventName, event.data]);
          break;
        }
        case DEFERRED_RESET:
          c.er = 1;
          c.e = undefined;
          break;
        default: {
          (values[change.kind] ??= new Map()).set(change.key, change.entry);
          const last = this.#lastValue[change.kind - SHARED_DATA]!;
          if (last.get(change.key) === change) last.delete(change.key);
        }
      }
    }
    changes.length = kept;
    return kept > 0;
  }

  #failure(error: unknown, c: CommitData | undefined, what = "its state"): StoreError {
    const bad = c === undefined ? undefined : findNonJson(c);
    const where = bad === undefined ? "" : ` at '${describePath(bad.path)}' (${bad.what})`;
    return new StoreError(
      `Cannot persist job '${this.job.jobId}': ${what} holds what JSON cannot${where} (${describeError(error).message}); ` +
      "keep payloads, shared data and routine states plain JSON. The job is no longer persisted",
      { cause: error },
    );
  }
}

/**
 * Adds the taken values to an encoded commit: shared data as `d` (set) and `dx` (removed),
 * routine states as `r`, slot buffers as `b`. They are JSON text already, so they are spliced in.
 */
function withValues(text: string, values: Values): string {
  const parts: string[] = [];
  const shared = values[SHARED_DATA];
  if (shared !== undefined) {
    const set: string[] = [];
    const removed: string[] = [];
    for (const [key, json] of shared) {
      if (json === undefined) removed.push(JSON.stringify(key));
      else set.push(`[${JSON.stringify(key)},${json as string}]`);
    }
    if (set.length > 0) parts.push(`"d":[${set.join(",")}]`);
    if (removed.length > 0) parts.push(`"dx":[${removed.join(",")}]`);
  }
  const states = values[ROUTINE_STATE];
  if (states !== undefined) {
    const set: string[] = [];
    for (const [routineId, state] of states) if (state !== undefined) set.push(`[${JSON.stringify(routineId)},${JSON.stringify(state)}]`);
    if (set.length > 0) parts.push(`"r":[${set.join(",")}]`);
  }
  const buffers = values[SLOT_BUFFER];
  if (buffers !== undefined) {
    const set: string[] = [];
    for (const [key, json] of buffers) {
      const [routineId, slotName] = splitSlotKey(key);
      set.push(`[${JSON.stringify(routineId)},${JSON.stringify(slotName)},${(json as string | undefined) ?? "null"}]`);
    }
    parts.push(`"b":[${set.join(",")}]`);
  }
  return parts.length === 0 ? text : `${text.slice(0, -1)},${parts.join(",")}}`;
}

const FIELD_NAMES: Record<string, string> = {
  h: "executionHistory", o: "outputLog", l: "sharedLog", d: "sharedData", r: "routineStates", a: "added tasks", p: "pendingTasks",
  b: "slot buffers", e: "deferredEvents",
};

/** A commit path in user terms: `h[0][2].x` reads as `executionHistory (entry 0 data).x`. */
function describePath(path: readonly PropertyKey[]): string {
  const [field, index, slot, ...rest] = path;
  const name = typeof field === "string" ? (FIELD_NAMES[field] ?? field) : String(field);
  if (index === undefined) return name;
  const tail = rest.length === 0 ? "" : `${typeof rest[0] === "number" ? "" : "."}${formatPath(rest)}`;
  return `${name} (entry ${String(index)}${slot === undefined ? "" : `, field ${String(slot)}`})${tail}`;
}
