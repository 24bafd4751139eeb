import type { Payload } from "../core/slot.js";
import { kJobData, slotKey, splitSlotKey, type EarlyAnswer } from "../state/job-data.js";
import type { JobStatus } from "../state/job-snapshot.js";
import type { JobStateCore } from "../state/job-state.js";
import type { HistoryEntry, OutputEntry, PauseEntry } from "../state/records.js";
import type { SlotBuffer } from "../state/slot-buffer.js";
import type { PendingTask } from "../state/task.js";
import type { LooseChanges, WaitRequest, WriteSet } from "../state/write-set.js";

/** `[routineId, eventName or outputType, data, epoch ms]`. @internal */
export type EntryRow = [string, string, Payload, number];

/**
 * One commit of a job's write-ahead log, written as one JSON row. Short keys, because one is
 * written per task. A delta says what one unit of work did (an activation, with the changes made
 * outside activations before it); a *base* commit (`base: 1`) holds the whole job and is what a
 * snapshot is. Times are epoch milliseconds.
 *
 * | key | meaning |
 * |---|---|
 * | `base`, `id`, `f` | a full-state commit, the job's id and its flow's id |
 * | `s`, `u`, `n`, `cr`, `rm` | status, updatedAt, nextTaskId, currentRoutineId and running time after the commit |
 * | `j` | job-level fields: createdAt `ca`, metadata `m`, checkpoint `ck`, timeoutMs `to`, runningMs `rm`, inputs waited for `w`, early answers `ea` |
 * | `p` | the whole pending-task set (a base) |
 * | `pc`, `c`, `x`, `a` | the pending set dropped, the task consumed (its taskId), delayed tasks withdrawn (taskIds), the tasks added |
 * | `h`, `o`, `l`, `pp` | history records, outputs, shared-log entries and pause points appended |
 * | `d`, `dx` | shared data set (`[key, value]`) and removed (keys) |
 * | `r`, `b` | routine states set, slot buffers set or cleared (`[routineId, slot, data or null]`) |
 * | `er`, `e` | deferred events cleared first, then deferred events appended |
 *
 * Replay applies, in this order: base reset, scalars, `j`, `p`, `pc`, `c`, `a`, appends, values, `er`, `e`.
 * @internal
 */
export interface CommitData {
  base?: 1;
  id?: string;
  f?: string;
  s: JobStatus;
  u: number;
  n: number;
  cr?: string;
  rm?: number;
  j?: { ca: number; m: Payload; ck: Payload | null; to: number | null; rm: number; w?: WaitRequest[]; ea?: EarlyAnswer[] };
  p?: PendingTask[];
  pc?: 1;
  c?: number;
  x?: number[];
  a?: PendingTask[];
  h?: EntryRow[];
  o?: EntryRow[];
  l?: unknown[];
  pp?: Array<[number, string, Payload | null]>;
  d?: Array<[string, unknown]>;
  dx?: string[];
  r?: Array<[string, Payload]>;
  b?: Array<[string, string, Payload | null]>;
  er?: 1;
  e?: Array<[string, string, Payload]>;
}

function historyRow(entry: HistoryEntry): EntryRow {
  return [entry.routineId, entry.eventName, entry.data, entry.timeMs];
}

function outputRow(entry: OutputEntry): EntryRow {
  return [entry.routineId, entry.outputType, entry.data, entry.timeMs];
}

function pauseRow(entry: PauseEntry): [number, string, Payload | null] {
  return [entry.timeMs, entry.reason, entry.checkpoint ?? null];
}

/** The job-level fields of a commit. */
function jobFields(job: JobStateCore): NonNullable<CommitData["j"]> {
  const data = job[kJobData];
  const fields: NonNullable<CommitData["j"]> = {
    ca: data.createdAtMs,
    m: job.metadata,
    ck: job.checkpoint ?? null,
    to: data.timeoutMs ?? null,
    rm: data.runningMsAt(data.clock.now()),
  };
  if (data.waitingFor !== undefined) fields.w = data.waitingFor;
  if (data.earlyAnswers !== undefined) fields.ea = data.earlyAnswers;
  return fields;
}

/** Whether tasks in flight are still pending (not consumed) for a job in this status. */
function keepsInFlight(status: JobStatus): boolean {
  return status === "running" || status === "paused";
}

/** The header every commit carries: the job's scalars after it. */
function header(job: JobStateCore): CommitData {
  const data = job[kJobData];
  const c: CommitData = { s: job.status, u: data.updatedAtMs, n: data.nextTaskId };
  if (job.currentRoutineId !== undefined) c.cr = job.currentRoutineId;
  if (data.timeoutMs !== undefined) c.rm = data.runningMsAt(data.clock.now());
  return c;
}

/**
 * A base commit: the whole job as it is now. In-flight activations' writes are not part of the
 * job until they commit, and their tasks are listed as pending: the base is exact at any time.
 * Empty parts are left out (replay starts from an empty job).
 * @internal
 */
export function baseCommit(job: JobStateCore): CommitData {
  const data = job[kJobData];
  const state = job.committed();
  const commit = header(job);
  commit.base = 1;
  commit.id = job.jobId;
  commit.f = job.flowId;
  commit.j = jobFields(job);
  commit.p = data.pendingTasks(keepsInFlight(job.status));
  if (state.history.length > 0) commit.h = state.history.map(historyRow);
  if (state.outputLog.length > 0) commit.o = state.outputLog.map(outputRow);
  if (state.sharedLog.length > 0) commit.l = [...state.sharedLog];
  if (state.pausePoints.length > 0) commit.pp = state.pausePoints.map(pauseRow);
  const shared = Object.entries(state.sharedData);
  if (shared.length > 0) commit.d = shared;
  const states = Object.entries(state.routineStates);
  if (states.length > 0) commit.r = states;
  for (const [key, buffer] of data.slotBuffers ?? []) {
    const value = buffer.durable();
    if (value !== undefined) (commit.b ??= []).push([...splitSlotKey(key), value]);
  }
  if (state.deferred.length > 0) commit.e = state.deferred.map((event) => [event.routineId, event.eventName, event.data]);
  return commit;
}

/** What one delta consists of, in order; see {@link buildDelta}. @internal */
export interface DeltaParts {
  /** Loose changes made before the activation's writes took effect. */
  readonly earlier: LooseChanges | undefined;
  readonly writes: WriteSet | undefined;
  /** Loose changes made since (by settling it), or by themselves. */
  readonly later: LooseChanges | undefined;
  readonly consumed: PendingTask | undefined;
  readonly added: readonly PendingTask[];
  /** How many pause points the store has already. */
  readonly pausePoints: number;
}

/**
 * A delta as built: what may still change in the job (its scalars, job-level fields, values) is
 * captured; what never changes once handed over (appended entries, tasks, the parts' lists) is
 * kept by reference, and the commit is put together only when it is encoded, so a delta that a
 * snapshot of the same group commit supersedes costs little.
 * @internal
 */
export interface Delta {
  readonly head: CommitData;
  readonly parts: DeltaParts;
  /** Shared data set (JSON text) or removed (undefined), by key. */
  shared: Map<string, string | undefined> | undefined;
  /** Routine states, copied, in the order the commit lists them (one routine once). */
  states: Array<[string, Payload]> | undefined;
  /** Slot buffers' durable values (JSON text) or cleared (undefined), by slot key. */
  buffers: Map<string, string | undefined> | undefined;
}

/**
 * A delta: the job's loose changes, then an activation's writes and its task; see {@link Delta}.
 * @internal
 */
export function buildDelta(job: JobStateCore, parts: DeltaParts): Delta {
  const { earlier, writes, later, consumed } = parts;
  const data = job[kJobData];
  const head = header(job);
  const state = job.committed();
  if (earlier?.job === true || later?.job === true) {
    head.j = jobFields(job);
    const points = state.pausePoints;
    if (points.length > parts.pausePoints) head.pp = points.slice(parts.pausePoints).map(pauseRow);
  }
  const delta: Delta = { head, parts, shared: undefined, states: undefined, buffers: undefined };
  // Each list of keys in the order a commit lists them; a key seen before keeps its place.
  if (earlier?.sharedKeys !== undefined || later?.sharedKeys !== undefined || writes?.sharedValues !== undefined) {
    const sharedData = state.sharedData;
    for (const keys of [earlier?.sharedKeys, later?.sharedKeys, writes?.sharedValues?.keys()]) {
      if (keys === undefined) continue;
      for (const key of keys) {
        (delta.shared ??= new Map()).set(key, Object.hasOwn(sharedData, key) ? JSON.stringify(sharedData[key]) : undefined);
      }
    }
  }
  const states = state.routineStates;
  if (earlier?.stateIds === undefined && later?.stateIds === undefined && writes?.states === undefined) {
    // The common case: the state of the routine whose task this is, and no other.
    const id = consumed?.routineId;
    if (id !== undefined && Object.hasOwn(states, id)) delta.states = [[id, { ...states[id] }]];
  } else {
    const ids = new Set<string>();
    for (const source of [earlier?.stateIds, later?.stateIds, writes?.states?.keys()]) {
      if (source !== undefined) for (const id of source) ids.add(id);
    }
    if (consumed !== undefined) ids.add(consumed.routineId);
    for (const id of ids) if (Object.hasOwn(states, id)) (delta.states ??= []).push([id, { ...states[id] }]);
  }
  const buffers = data.slotBuffers;
  for (const keys of [earlier?.bufferKeys, later?.bufferKeys]) {
    if (keys !== undefined) for (const key of keys) captureBuffer(delta, buffers, key);
  }
  if (consumed !== undefined && buffers !== undefined) {
    const key = slotKey(consumed.routineId, consumed.slotName);
    if (buffers.has(key)) captureBuffer(delta, buffers, key);
  }
  return delta;
}

function captureBuffer(delta: Delta, buffers: ReadonlyMap<string, SlotBuffer> | undefined, key: string): void {
  if (delta.buffers?.has(key) === true) return;
  const value = buffers?.get(key)?.durable();
  (delta.buffers ??= new Map()).set(key, value === undefined ? undefined : JSON.stringify(value));
}

/** The lists of up to three parts, one after the other; undefined when none has one. */
function joined<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, c: readonly T[] | undefined): readonly T[] | undefined {
  if (a === undefined) return b === undefined ? c : c === undefined ? b : [...b, ...c];
  if (b === undefined) return c === undefined ? a : [...a, ...c];
  return c === undefined ? [...a, ...b] : [...a, ...b, ...c];
}

/** The body of a delta: its head, then the activation's task and appended entries, in replay order. */
function deltaBody(delta: Delta): CommitData {
  const { earlier, writes, later, consumed } = delta.parts;
  const c = delta.head;
  if (earlier?.cleared === true || later?.cleared === true) c.pc = 1;
  if (consumed !== undefined) c.c = consumed.taskId;
  const removed = joined(earlier?.removed, writes?.removed, later?.removed);
  if (removed !== undefined) c.x = removed as number[];
  const added = joined(later?.cleared === true ? undefined : earlier?.added, delta.parts.added, later?.added);
  if (added !== undefined && added.length > 0) c.a = added as PendingTask[];
  const history = joined(earlier?.history, writes?.history, later?.history);
  if (history !== undefined) c.h = history.map(historyRow);
  const outputs = joined(earlier?.outputs, writes?.outputs, later?.outputs);
  if (outputs !== undefined) c.o = outputs.map(outputRow);
  const log = joined(earlier?.sharedLog, writes?.sharedLog, later?.sharedLog);
  if (log !== undefined) c.l = log as unknown[];
  if (earlier?.deferredReset === true || later?.deferredReset === true) c.er = 1;
  const deferred = joined(later?.deferredReset === true ? undefined : earlier?.deferred, writes?.deferred, later?.deferred);
  if (deferred !== undefined) c.e = deferred.map((event) => [event.routineId, event.eventName, event.data]);
  if (delta.states !== undefined) c.r = delta.states;
  return c;
}

/**
 * Encodes a delta: its body (routine states included), then the captured values spliced in as
 * shared data `d` (set) and `dx` (removed) and slot buffers `b` (values are JSON text already).
 * @internal
 */
export function encodeDelta(delta: Delta): string {
  const text = JSON.stringify(deltaBody(delta));
  const parts: string[] = [];
  if (delta.shared !== undefined) {
    const set: string[] = [];
    const removed: string[] = [];
    for (const [key, json] of delta.shared) {
      if (json === undefined) removed.push(JSON.stringify(key));
      else set.push(`[${JSON.stringify(key)},${json}]`);
    }
    if (set.length > 0) parts.push(`"d":[${set.join(",")}]`);
    if (removed.length > 0) parts.push(`"dx":[${removed.join(",")}]`);
  }
  if (delta.buffers !== undefined) {
    const set: string[] = [];
    for (const [key, json] of delta.buffers) {
      const [routineId, slotName] = splitSlotKey(key);
      set.push(`[${JSON.stringify(routineId)},${JSON.stringify(slotName)},${json ?? "null"}]`);
    }
    parts.push(`"b":[${set.join(",")}]`);
  }
  return parts.length === 0 ? text : `${text.slice(0, -1)},${parts.join(",")}}`;
}
