import type { Payload } from "../core/slot.js";
import type { DeferredEvent } from "./records.js";
import type { EarlyAnswer } from "./job-data.js";
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
