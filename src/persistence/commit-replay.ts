// Rebuilding a job from what a store holds: its snapshot (a base commit), then each later commit
// of its log in order, each checked as it is read.
import { StoreError } from "../core/errors.js";
import { setOwn } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import { slotKey } from "../state/job-data.js";
import { jobFromSnapshot } from "../state/job-factory.js";
import type { JobSnapshot } from "../state/job-snapshot.js";
import type { JobStateCore } from "../state/job-state.js";
import type { PendingTask } from "../state/task.js";
import { parseCommit } from "./commit-check.js";
import type { CommitData } from "./commit-format.js";
import type { StoredJob } from "./job-store.js";

/** A job being rebuilt from its snapshot and log. */
class Replay {
  readonly snapshot: JobSnapshot;
  /**
   * The pending tasks by taskId; a task consumed or withdrawn is set to undefined rather than
   * deleted (a Map reallocates its table on most deletes from a small one, once per task).
   */
  readonly pending = new Map<number, PendingTask | undefined>();
  buffers: Map<string, { routineId: string; slotName: string; data: Payload }> | undefined;

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
      if (pending.size > 0) pending.clear();
      for (const t of c.p) pending.set(t.taskId, t);
    }
    if (c.pc !== undefined && pending.size > 0) pending.clear();
    if (c.c !== undefined && pending.has(c.c)) pending.set(c.c, undefined);
    if (c.x !== undefined) for (const taskId of c.x) if (pending.has(taskId)) pending.set(taskId, undefined);
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
        if (data === null) this.buffers?.delete(key);
        else (this.buffers ??= new Map()).set(key, { routineId, slotName, data });
      }
    }
    if (c.er !== undefined) s.deferredEvents = [];
    if (c.e !== undefined) for (const [routineId, eventName, data] of c.e) s.deferredEvents.push({ routineId, eventName, data });
  }

  finish(): JobSnapshot {
    const s = this.snapshot;
    s.pendingTasks = [];
    for (const task of this.pending.values()) if (task !== undefined) s.pendingTasks.push(task);
    s.pendingTasks.sort((a, b) => a.taskId - b.taskId);
    s.slotBuffers = this.buffers === undefined ? [] : [...this.buffers.values()];
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
  const base = parseCommit(stored.snapshot, at, stored.snapshotSeq, true);
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
    const c = parseCommit(commit.data, at, commit.seq, false);
    if (c.base === 1) throw new StoreError(`${at}: commit ${commit.seq} is a full-state commit inside the log; the store is corrupt`);
    replay.apply(c);
  }
  return replay.finish();
}

/** Rebuilds a job (a `JobState`) from what a store holds. @internal */
export function restoreStoredJob(stored: StoredJob, where: string): JobStateCore {
  return jobFromSnapshot(restoreStoredSnapshot(stored, where));
}
