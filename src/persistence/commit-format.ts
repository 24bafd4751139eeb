import { z } from "zod";
import { StoreError } from "../core/errors.js";
import { formatPath } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import { pendingTaskSchema } from "../serialization/job-document.js";
import { kJobData, slotKey, splitSlotKey, type EarlyAnswer } from "../state/job-data.js";
import { jobFromSnapshot } from "../state/job-factory.js";
import { JOB_STATUSES, type JobSnapshot, type JobStatus } from "../state/job-snapshot.js";
import type { JobStateCore } from "../state/job-state.js";
import type { HistoryEntry, OutputEntry, PauseEntry } from "../state/records.js";
import type { SlotBuffer } from "../state/slot-buffer.js";
import type { PendingTask } from "../state/task.js";
import type { LooseChanges, WaitRequest, WriteSet } from "../state/write-set.js";
import type { StoredJob } from "./job-store.js";

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

// ---------------------------------------------------------------- validation

// Commits are read with JSON.parse, so every value is JSON already: the schema checks shapes only.
const json = z.unknown();
const payload = z.record(z.string(), json);
const time = z.number().finite();
const id = z.string().min(1);
const task = pendingTaskSchema(time, payload);
const entry = z.tuple([z.string(), z.string(), payload, time]);
const wait = z.strictObject({
  routineId: id,
  slotName: id,
  prompt: z.string().optional(),
  schema: payload.optional(),
  group: z.string().optional(),
});

// Compiled ahead of time: recovery checks every commit of thousands of jobs.
const commitSchema = z.compile(z.strictObject({
  base: z.literal(1).optional(),
  id: id.optional(),
  f: z.string().optional(),
  s: z.enum(JOB_STATUSES as [JobStatus, ...JobStatus[]]),
  u: time,
  n: z.int().positive(),
  cr: z.string().optional(),
  rm: z.number().nonnegative().optional(),
  j: z.strictObject({
    ca: time,
    m: payload,
    ck: payload.nullable(),
    to: z.number().nonnegative().nullable(),
    rm: z.number().nonnegative(),
    w: z.array(wait).optional(),
    ea: z.array(z.strictObject({ routineId: id, slotName: id, data: payload })).optional(),
  }).optional(),
  p: z.array(task).optional(),
  pc: z.literal(1).optional(),
  c: z.int().positive().optional(),
  x: z.array(z.int().positive()).optional(),
  a: z.array(task).optional(),
  h: z.array(entry).optional(),
  o: z.array(entry).optional(),
  l: z.array(json).optional(),
  pp: z.array(z.tuple([time, z.string(), payload.nullable()])).optional(),
  d: z.array(z.tuple([z.string(), json])).optional(),
  dx: z.array(z.string()).optional(),
  r: z.array(z.tuple([z.string(), payload])).optional(),
  b: z.array(z.tuple([id, id, payload.nullable()])).optional(),
  er: z.literal(1).optional(),
  e: z.array(z.tuple([id, id, payload])).optional(),
}).superRefine((commit, ctx) => {
  if (commit.base === undefined) return;
  for (const key of ["id", "f", "j", "p"] as const) {
    if (commit[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `a base commit needs '${key}'` });
  }
}));

/** Parses and validates one stored commit; a bad one throws a StoreError naming `where` and the field. */
function parseCommit(text: string, where: string): CommitData {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StoreError(`${where} is not valid JSON (${error instanceof Error ? error.message : String(error)}); the store is corrupt`, { cause: error });
  }
  const result = commitSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue === undefined ? "" : formatPath(issue.path);
    throw new StoreError(`${where} is malformed at '${path === "" ? "(commit)" : path}': ${issue?.message ?? "invalid"}; the store is corrupt`, {
      cause: result.error,
    });
  }
  // The schema only checks (it transforms nothing); the parsed text is kept as JSON.parse made it,
  // since a schema's output drops keys such as "__proto__" that JSON.parse keeps as own properties.
  return raw as CommitData;
}

// ---------------------------------------------------------------- replay

/** Sets an own property, even one named `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** A job being rebuilt from its snapshot and log. */
class Replay {
  readonly snapshot: JobSnapshot;
  readonly pending = new Map<number, PendingTask>();
  readonly buffers = new Map<string, { routineId: string; slotName: string; data: Payload }>();

  constructor(base: CommitData, revision: number) {
    this.snapshot = {
      jobId: base.id!,
      flowId: base.f!,
      status: base.s,
      createdAt: base.j!.ca,
      updatedAt: base.u,
      currentRoutineId: undefined,
      metadata: {},
      checkpoint: undefined,
      history: [],
      routineStates: {},
      pausePoints: [],
      deferredEvents: [],
      pendingTasks: [],
      slotBuffers: [],
      sharedData: {},
      sharedLog: [],
      outputLog: [],
      nextTaskId: 1,
      timeoutMs: undefined,
      runningMs: 0,
      revision,
      waitingFor: [],
      earlyAnswers: [],
    };
  }

  apply(c: CommitData): void {
    const s = this.snapshot;
    s.status = c.s;
    s.updatedAt = c.u;
    s.nextTaskId = c.n;
    if (c.cr !== undefined) s.currentRoutineId = c.cr;
    if (c.j !== undefined) {
      s.createdAt = c.j.ca;
      s.metadata = c.j.m;
      s.checkpoint = c.j.ck ?? undefined;
      s.timeoutMs = c.j.to ?? undefined;
      s.runningMs = c.j.rm;
      s.waitingFor = c.j.w ?? [];
      s.earlyAnswers = c.j.ea ?? [];
    }
    if (c.rm !== undefined) s.runningMs = c.rm;
    const pending = this.pending;
    if (c.p !== undefined) {
      pending.clear();
      for (const t of c.p) pending.set(t.taskId, t);
    }
    if (c.pc !== undefined) pending.clear();
    if (c.c !== undefined) pending.delete(c.c);
    if (c.x !== undefined) for (const taskId of c.x) pending.delete(taskId);
    if (c.a !== undefined) for (const t of c.a) pending.set(t.taskId, t);
    for (const [routineId, eventName, data, timestamp] of c.h ?? []) s.history.push({ routineId, eventName, data, timestamp });
    for (const [routineId, outputType, data, timestamp] of c.o ?? []) s.outputLog.push({ routineId, outputType, data, timestamp });
    if (c.l !== undefined) for (const item of c.l) s.sharedLog.push(item);
    if (c.pp !== undefined) {
      for (const [timestamp, reason, checkpoint] of c.pp) {
        s.pausePoints.push(checkpoint === null ? { timestamp, reason } : { timestamp, reason, checkpoint });
      }
    }
    if (c.d !== undefined) for (const [key, value] of c.d) setOwn(s.sharedData, key, value);
    if (c.dx !== undefined) for (const key of c.dx) delete s.sharedData[key];
    if (c.r !== undefined) for (const [routineId, state] of c.r) setOwn(s.routineStates, routineId, state);
    if (c.b !== undefined) {
      for (const [routineId, slotName, data] of c.b) {
        const key = slotKey(routineId, slotName);
        if (data === null) this.buffers.delete(key);
        else this.buffers.set(key, { routineId, slotName, data });
      }
    }
    if (c.er !== undefined) s.deferredEvents = [];
    if (c.e !== undefined) for (const [routineId, eventName, data] of c.e) s.deferredEvents.push({ routineId, eventName, data });
  }

  finish(): JobSnapshot {
    const s = this.snapshot;
    s.pendingTasks = [...this.pending.values()].sort((a, b) => a.taskId - b.taskId);
    s.slotBuffers = [...this.buffers.values()];
    const last = s.pendingTasks.at(-1);
    if (last !== undefined && last.taskId >= s.nextTaskId) s.nextTaskId = last.taskId + 1;
    return s;
  }
}

/**
 * Rebuilds a job's state from what a store holds: its snapshot, then each later commit in order.
 * Its revision is the last commit's sequence number.
 * @param where - names the store, for messages ("SQLite job store '/data/jobs.db'")
 * @internal
 */
export function restoreStoredSnapshot(stored: StoredJob, where: string): JobSnapshot {
  const at = `${where}: job '${stored.jobId}'`;
  const base = parseCommit(stored.snapshot, `${at}, snapshot at seq ${stored.snapshotSeq}`);
  if (base.base !== 1) throw new StoreError(`${at}: its snapshot (seq ${stored.snapshotSeq}) is not a full-state commit; the store is corrupt`);
  if (base.id !== stored.jobId) {
    throw new StoreError(`${at}: its snapshot names job '${String(base.id)}'; the store is corrupt`);
  }
  const last = stored.commits.at(-1)?.seq ?? stored.snapshotSeq;
  const replay = new Replay(base, last);
  replay.apply(base);
  let seq = stored.snapshotSeq;
  for (const commit of stored.commits) {
    if (commit.seq !== seq + 1) {
      throw new StoreError(`${at}: its log jumps from seq ${seq} to ${commit.seq}; the store is corrupt (a commit is missing)`);
    }
    seq = commit.seq;
    const c = parseCommit(commit.data, `${at}, commit ${commit.seq}`);
    if (c.base === 1) throw new StoreError(`${at}: commit ${commit.seq} is a full-state commit inside the log; the store is corrupt`);
    replay.apply(c);
  }
  return replay.finish();
}

/** Rebuilds a job (a `JobState`) from what a store holds. @internal */
export function restoreStoredJob(stored: StoredJob, where: string): JobStateCore {
  return jobFromSnapshot(restoreStoredSnapshot(stored, where));
}
