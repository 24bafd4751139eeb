import { z } from "zod";
import { StoreError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { pendingTaskSchema } from "../serialization/job-document.js";
import { formatPath } from "../serialization/json-check.js";
import { JOB_STATUSES, type JobSnapshot, type JobStatus } from "../state/job-snapshot.js";
import { JobState, kJobData, slotKey, splitSlotKey } from "../state/job-state.js";
import type { HistoryEntry, OutputEntry, PauseEntry } from "../state/records.js";
import type { PendingTask } from "../state/task.js";
import type { StoredJob } from "./job-store.js";

/** `[routineId, eventName or outputType, data, epoch ms]`. @internal */
export type EntryRow = [string, string, Payload, number];

/**
 * One commit of a job's write-ahead log, written as one JSON row. Short keys, because one is
 * written per task. A delta says what one task (or one job-level change) did; a *base* commit
 * (`base: 1`) holds the whole job and is what a snapshot is. Times are epoch milliseconds.
 *
 * | key | meaning |
 * |---|---|
 * | `base`, `id`, `f` | a full-state commit, the job's id and its flow's id |
 * | `s`, `u`, `n`, `cr` | status, updatedAt, nextTaskId, currentRoutineId after the commit |
 * | `j` | job-level fields: createdAt `ca`, metadata `m`, checkpoint `ck`, timeoutMs `to`, runningMs `rm` |
 * | `p` | the whole pending-task set, replacing the previous one |
 * | `c`, `a` | the task consumed (its taskId) and the tasks it added |
 * | `h`, `o`, `l`, `pp` | history records, outputs, shared-log entries and pause points appended |
 * | `d`, `dx` | shared data set (`[key, value]`) and removed (keys) |
 * | `r`, `b` | routine states set, slot buffers set or cleared (`[routineId, slot, data or null]`) |
 * | `er`, `e` | deferred events cleared first, then deferred events appended |
 *
 * Replay applies, in this order: base reset, scalars, `j`, `p`, `c`, `a`, appends, values, `er`, `e`.
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
  j?: { ca: number; m: Payload; ck: Payload | null; to: number | null; rm: number };
  p?: PendingTask[];
  c?: number;
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

/** @internal */
export function historyRow(entry: HistoryEntry): EntryRow {
  return [entry.routineId, entry.eventName, entry.data, entry.timeMs];
}

/** @internal */
export function outputRow(entry: OutputEntry): EntryRow {
  return [entry.routineId, entry.outputType, entry.data, entry.timeMs];
}

/** @internal */
export function pauseRow(entry: PauseEntry): [number, string, Payload | null] {
  return [entry.timeMs, entry.reason, entry.checkpoint ?? null];
}

/** The job-level fields of a commit. @internal */
export function jobFields(job: JobState): NonNullable<CommitData["j"]> {
  const data = job[kJobData];
  return { ca: data.createdAtMs, m: job.metadata, ck: job.checkpoint ?? null, to: data.timeoutMs ?? null, rm: data.runningMs };
}

/** Whether tasks in flight are still pending (not consumed) for a job in this status. @internal */
export function keepsInFlight(status: JobStatus): boolean {
  return status === "running" || status === "paused";
}

/**
 * A base commit: the whole job as it is now. Only exact when no running activation holds
 * uncommitted changes (the tracker checks). Tasks in flight are listed as pending: they are not
 * consumed until their own commit.
 * @internal
 */
export function baseCommit(job: JobState): CommitData {
  const data = job[kJobData];
  const status = job.status;
  const commit: CommitData = {
    base: 1,
    id: job.jobId,
    f: job.flowId,
    s: status,
    u: data.updatedAtMs,
    n: data.nextTaskId,
    j: jobFields(job),
    p: data.pendingTasks(keepsInFlight(status)),
    h: (job.executionHistory as readonly HistoryEntry[]).map(historyRow),
    o: (job.outputLog as readonly OutputEntry[]).map(outputRow),
    l: [...job.sharedLog],
    pp: (job.pausePoints as readonly PauseEntry[]).map(pauseRow),
    d: Object.entries(job.sharedData),
    r: Object.entries(job.routineStates),
    b: [],
    e: job.deferredEvents.map((event) => [event.routineId, event.eventName, event.data]),
  };
  if (job.currentRoutineId !== undefined) commit.cr = job.currentRoutineId;
  for (const [key, value] of data.slotBuffers ?? []) {
    commit.b!.push([...splitSlotKey(key), value]);
  }
  return commit;
}

// ---------------------------------------------------------------- validation

const payload = z.record(z.string(), z.json());
const time = z.number().finite();
const id = z.string().min(1);
const task = pendingTaskSchema(time);
const entry = z.tuple([z.string(), z.string(), payload, time]);

const commitSchema = z.strictObject({
  base: z.literal(1).optional(),
  id: id.optional(),
  f: z.string().optional(),
  s: z.enum(JOB_STATUSES as [JobStatus, ...JobStatus[]]),
  u: time,
  n: z.int().positive(),
  cr: z.string().optional(),
  j: z.strictObject({
    ca: time,
    m: payload,
    ck: payload.nullable(),
    to: z.number().nonnegative().nullable(),
    rm: z.number().nonnegative(),
  }).optional(),
  p: z.array(task).optional(),
  c: z.int().positive().optional(),
  a: z.array(task).optional(),
  h: z.array(entry).optional(),
  o: z.array(entry).optional(),
  l: z.array(z.json()).optional(),
  pp: z.array(z.tuple([time, z.string(), payload.nullable()])).optional(),
  d: z.array(z.tuple([z.string(), z.json()])).optional(),
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
});

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

  constructor(base: CommitData) {
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
    }
    const pending = this.pending;
    if (c.p !== undefined) {
      pending.clear();
      for (const t of c.p) pending.set(t.taskId, t);
    }
    if (c.c !== undefined) pending.delete(c.c);
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
 * Rebuilds a job from what a store holds: its snapshot, then each later commit in order.
 * @param where - names the store, for messages ("SQLite job store '/data/jobs.db'")
 * @internal
 */
export function restoreStoredJob(stored: StoredJob, where: string): JobState {
  const at = `${where}: job '${stored.jobId}'`;
  const base = parseCommit(stored.snapshot, `${at}, snapshot at seq ${stored.snapshotSeq}`);
  if (base.base !== 1) throw new StoreError(`${at}: its snapshot (seq ${stored.snapshotSeq}) is not a full-state commit; the store is corrupt`);
  if (base.id !== stored.jobId) {
    throw new StoreError(`${at}: its snapshot names job '${String(base.id)}'; the store is corrupt`);
  }
  const replay = new Replay(base);
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
  const job = new JobState(stored.flowId);
  job.restoreSnapshot(replay.finish());
  return job;
}
