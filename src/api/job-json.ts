import type { JobStatus } from "../state/job-snapshot.js";
import type { PendingTask } from "../state/task.js";
import type { DeferredEvent } from "../state/records.js";
import type { JobSummary } from "../persistence/job-store.js";
import { resultOf, type JobState, type WaitingInput } from "./job-state.js";

/** A history record as JSON: its time as an ISO 8601 string. */
export interface ExecutionRecordJson {
  readonly routineId: string;
  readonly eventName: string;
  readonly data: Record<string, unknown>;
  readonly timestamp: string;
}

/** An output as JSON: its time as an ISO 8601 string. */
export interface OutputRecordJson {
  readonly routineId: string;
  readonly outputType: string;
  readonly data: Record<string, unknown>;
  readonly timestamp: string;
}

/** A pause point as JSON. */
export interface PausePointJson {
  readonly timestamp: string;
  readonly reason: string;
  readonly checkpoint?: Record<string, unknown>;
}

/** What the JSON of a job and of a job's summary both begin with. Times are ISO 8601 strings. */
export interface JobHeadJson {
  readonly jobId: string;
  readonly flowId: string;
  readonly status: JobStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The store revision of this copy (0 when never stored). */
  readonly revision: number;
  readonly metadata: Record<string, unknown>;
}

/**
 * A job as plain JSON, the same everywhere a job is shown: `routilux jobs show --json`, the HTTP
 * API (`GET /api/jobs/:jobId`) and the dashboard. Times are ISO 8601 strings.
 */
export interface JobJson extends JobHeadJson {
  /** The inputs a paused job waits for (empty when none). */
  readonly waitingFor: WaitingInput[];
  /** Why a failed job failed. */
  readonly error?: { readonly routineId: string; readonly message: string; readonly errorType: string };
  /** The reason given when a cancelled job was cancelled. */
  readonly cancelReason?: string;
  readonly routineStates: Record<string, Record<string, unknown>>;
  readonly history: ExecutionRecordJson[];
  readonly sharedData: Record<string, unknown>;
  readonly sharedLog: unknown[];
  readonly outputs: OutputRecordJson[];
  /** Queued tasks and waiting retries: what runs next, and what a paused job resumes with. */
  readonly pendingTasks: PendingTask[];
  readonly deferredEvents: DeferredEvent[];
  readonly pausePoints: PausePointJson[];
  readonly checkpoint?: Record<string, unknown>;
}

/** A job as a store lists it, as JSON (an entry of `jobs list --json` and of `GET /api/jobs`). */
export interface JobSummaryJson extends JobHeadJson {
  /** The inputs a paused job waits for, as `routineId.slotName`. */
  readonly waitingFor: string[];
}

/**
 * The JSON of a job: everything it holds, as plain data (no Dates, no class instances), ready for
 * `JSON.stringify`. Used by the command line (`jobs show --json`) and the HTTP API alike.
 *
 * @example
 * ```ts
 * const job = await store.loadJob(jobId);
 * if (job) console.log(JSON.stringify(jobToJson(job), null, 2));
 * ```
 */
export function jobToJson(job: JobState): JobJson {
  const status = job.status as JobStatus;
  const json: JobJson = {
    jobId: job.jobId,
    flowId: job.flowId,
    status,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    revision: job.revision,
    metadata: { ...job.metadata },
    waitingFor: job.waitingFor.map((w) => ({ ...w })),
    ...outcomeOf(job, status),
    routineStates: Object.fromEntries(Object.entries(job.routineStates).map(([id, state]) => [id, { ...state }])),
    history: job.executionHistory.map((r) => ({
      routineId: r.routineId, eventName: r.eventName, data: r.data, timestamp: r.timestamp.toISOString(),
    })),
    sharedData: { ...job.sharedData },
    sharedLog: [...job.sharedLog],
    outputs: job.outputLog.map((o) => ({
      routineId: o.routineId, outputType: o.outputType, data: o.data, timestamp: o.timestamp.toISOString(),
    })),
    pendingTasks: job.pendingTasks.map((t) => ({ ...t })),
    deferredEvents: job.deferredEvents.map((e) => ({ ...e })),
    pausePoints: job.pausePoints.map((p) => ({
      timestamp: p.timestamp.toISOString(),
      reason: p.reason,
      ...(p.checkpoint === undefined ? {} : { checkpoint: p.checkpoint }),
    })),
    ...(job.checkpoint === undefined ? {} : { checkpoint: job.checkpoint }),
  };
  return json;
}

function outcomeOf(job: JobState, status: JobStatus): Pick<JobJson, "error" | "cancelReason"> {
  if (status !== "failed" && status !== "cancelled") return {};
  const result = resultOf(job);
  if (result.status === "failed") return { error: { ...result.error } };
  if (result.status === "cancelled" && result.reason !== undefined) return { cancelReason: result.reason };
  return {};
}

/** The JSON of a store's job summary (see {@link JobSummaryJson}). */
export function jobSummaryToJson(summary: JobSummary): JobSummaryJson {
  return {
    jobId: summary.jobId,
    flowId: summary.flowId,
    status: summary.status,
    createdAt: summary.createdAt.toISOString(),
    updatedAt: summary.updatedAt.toISOString(),
    revision: summary.revision,
    metadata: { ...summary.metadata },
    waitingFor: [...summary.waitingFor],
  };
}
