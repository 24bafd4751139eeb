import type { Payload } from "../core/slot.js";
import { slotKey, splitSlotKey, type EarlyAnswer, type JobData } from "./job-data.js";
import { JobParts, type CommittedParts } from "./job-parts.js";
import { HistoryEntry, OutputEntry, PauseEntry, type DeferredEvent } from "./records.js";
import { SlotBuffer } from "./slot-buffer.js";
import type { PendingTask } from "./task.js";
import type { WaitRequest } from "./write-set.js";

/** The status of a job. */
export type JobStatus = "pending" | "running" | "completed" | "failed" | "paused" | "cancelled";

/**
 * A job's status as read from a `JobState` (`job.status`): always one of the {@link JobStatus}
 * values, typed so that a check made before an `await` does not narrow what is read after it:
 * `if (job.status === "running") { await job.result(); if (job.status === "completed") ... }`
 * compiles. Switch over `JobStatus` values (a `JobResult`'s status, an event's) for exhaustiveness.
 */
export type LiveJobStatus = JobStatus | (string & Record<never, never>);

/** Every job status, in a stable order. */
export const JOB_STATUSES: readonly JobStatus[] = ["pending", "running", "completed", "failed", "paused", "cancelled"];

/**
 * Everything a job holds, as plain data with epoch-millisecond times: what serialization writes
 * and reads, and what a store's snapshot holds.
 * @internal
 */
export interface JobSnapshot {
  jobId: string;
  flowId: string;
  status: JobStatus;
  createdAt: number;
  updatedAt: number;
  currentRoutineId: string | undefined;
  metadata: Payload;
  checkpoint: Payload | undefined;
  history: Array<{ routineId: string; eventName: string; data: Payload; timestamp: number }>;
  routineStates: Record<string, Payload>;
  pausePoints: Array<{ timestamp: number; reason: string; checkpoint?: Payload | undefined }>;
  deferredEvents: DeferredEvent[];
  /** Queued tasks and retries waiting for their time, in taskId order. */
  pendingTasks: PendingTask[];
  slotBuffers: Array<{ routineId: string; slotName: string; data: Payload }>;
  sharedData: Payload;
  sharedLog: unknown[];
  outputLog: Array<{ routineId: string; outputType: string; data: Payload; timestamp: number }>;
  nextTaskId: number;
  /** The job's time limit, if any, and how long it has run so far (paused time excluded). */
  timeoutMs: number | undefined;
  runningMs: number;
  /** The store revision of this state: the sequence number of its last commit (0: never stored). */
  revision: number;
  /** Inputs the job waits for, and answers that arrived before their wait. */
  waitingFor: WaitRequest[];
  earlyAnswers: EarlyAnswer[];
}

/** The fields of a snapshot that the job keeps itself, apart from its parts and its engine data. @internal */
export type SnapshotHead = Pick<JobSnapshot, "jobId" | "flowId" | "status" | "currentRoutineId" | "metadata" | "checkpoint">;

/**
 * Every part of a job as plain data; slot buffers at their durable value. Values, and the job's
 * own lists of plain data, are shared with the job, not copied: a snapshot is read at once.
 * @internal
 */
export function writeSnapshot(head: SnapshotHead, parts: CommittedParts, data: JobData): JobSnapshot {
  const slotBuffers: JobSnapshot["slotBuffers"] = [];
  for (const [key, buffer] of data.slotBuffers ?? []) {
    const value = buffer.durable();
    if (value === undefined) continue;
    const [routineId, slotName] = splitSlotKey(key);
    slotBuffers.push({ routineId, slotName, data: value });
  }
  return {
    jobId: head.jobId,
    flowId: head.flowId,
    status: head.status,
    createdAt: data.createdAtMs,
    updatedAt: data.updatedAtMs,
    currentRoutineId: head.currentRoutineId,
    metadata: head.metadata,
    checkpoint: head.checkpoint,
    history: parts.history.map((r) => ({ routineId: r.routineId, eventName: r.eventName, data: r.data, timestamp: r.timeMs })),
    routineStates: parts.routineStates,
    pausePoints: parts.pausePoints.map((p) => ({ timestamp: p.timeMs, reason: p.reason, checkpoint: p.checkpoint })),
    deferredEvents: parts.deferred as DeferredEvent[],
    pendingTasks: data.pendingTasks(true),
    slotBuffers,
    sharedData: parts.sharedData,
    sharedLog: parts.sharedLog as unknown[],
    outputLog: parts.outputLog.map((o) => ({ routineId: o.routineId, outputType: o.outputType, data: o.data, timestamp: o.timeMs })),
    nextTaskId: data.nextTaskId,
    timeoutMs: data.timeoutMs,
    runningMs: data.runningMs,
    revision: data.revision,
    waitingFor: data.waitingFor ?? [],
    earlyAnswers: data.earlyAnswers ?? [],
  };
}

/** The committed parts a validated snapshot holds, used as they are (not copied). @internal */
export function partsFromSnapshot(s: JobSnapshot): JobParts {
  return new JobParts({
    history: s.history.map((r) => new HistoryEntry(r.routineId, r.eventName, r.data, r.timestamp)),
    routineStates: s.routineStates,
    pausePoints: s.pausePoints.map((p) => new PauseEntry(p.timestamp, p.reason, p.checkpoint)),
    deferred: s.deferredEvents,
    sharedData: s.sharedData,
    sharedLog: s.sharedLog,
    outputLog: s.outputLog.map((o) => new OutputEntry(o.routineId, o.outputType, o.data, o.timestamp)),
  });
}

/**
 * Replaces a job's engine data (times, queue, retries, slot buffers, time limit, revision, inputs
 * waited for) with a validated snapshot's: nothing is left loose, and the job is not final.
 * @internal
 */
export function restoreJobData(data: JobData, s: JobSnapshot): void {
  data.createdAtMs = s.createdAt;
  data.updatedAtMs = s.updatedAt;
  data.queue.clear();
  data.delayed = undefined;
  for (const task of s.pendingTasks) {
    if (task.notBefore !== undefined) (data.delayed ??= new Map()).set(task.taskId, task);
    else data.queue.push(task);
  }
  data.slotBuffers = undefined;
  for (const b of s.slotBuffers) (data.slotBuffers ??= new Map()).set(slotKey(b.routineId, b.slotName), new SlotBuffer(b.data));
  data.nextTaskId = s.nextTaskId;
  data.timeoutMs = s.timeoutMs;
  data.runningMs = s.runningMs;
  data.revision = s.revision;
  data.waitingFor = s.waitingFor.length > 0 ? s.waitingFor : undefined;
  data.earlyAnswers = s.earlyAnswers.length > 0 ? s.earlyAnswers : undefined;
  data.final = false;
  data.loose = undefined;
}
