// The shapes of the API's JSON, as the dashboard reads them.

export type JobStatus = "pending" | "running" | "completed" | "failed" | "paused" | "cancelled";

export interface WaitingInput {
  routineId: string;
  slotName: string;
  prompt?: string;
  schema?: JsonSchema;
  group?: string;
}

export interface HistoryRecord {
  routineId: string;
  eventName: string;
  data: Record<string, unknown>;
  timestamp: string;
}

export interface Job {
  jobId: string;
  flowId: string;
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  revision: number;
  metadata: Record<string, unknown>;
  waitingFor: WaitingInput[];
  error?: { routineId: string; message: string; errorType: string };
  cancelReason?: string;
  routineStates: Record<string, Record<string, unknown>>;
  history: HistoryRecord[];
  sharedData: Record<string, unknown>;
  sharedLog: unknown[];
  outputs: Array<{ routineId: string; outputType: string; data: Record<string, unknown>; timestamp: string }>;
  pendingTasks: Array<{
    taskId: number; routineId: string; slotName: string; data: Record<string, unknown>; attempt: number; notBefore?: number;
  }>;
  pausePoints: Array<{ timestamp: string; reason: string }>;
}

export interface JobSummary {
  jobId: string;
  flowId: string;
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  waitingFor: string[];
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  title?: string;
  description?: string;
  default?: unknown;
  [key: string]: unknown;
}

export interface Graph {
  flowId: string;
  executionStrategy: string;
  maxWorkers: number;
  entryRoutineIds: string[];
  routines: Array<{
    id: string;
    className: string;
    config: Record<string, unknown>;
    slots: Array<{ name: string; mergeStrategy: string; schema?: JsonSchema; validated: boolean }>;
    events: Array<{ name: string; params: string[] }>;
  }>;
  connections: Array<{ id: string; from: { routineId: string; event: string }; to: { routineId: string; slot: string } }>;
}

export interface FlowInfo {
  flowId: string;
  routines: number;
  connections: number;
  entryRoutineIds: string[];
}

/** What `GET /api/health` says to anyone: whether the server runs and wants a token. */
export interface PublicHealth {
  ok: boolean;
  version: string;
  auth: "none" | "bearer";
  readOnly?: boolean;
  flows?: string[];
  store?: string;
}

/** What it says with the token (or on a server without one). */
export interface Health extends PublicHealth {
  readOnly: boolean;
  flows: string[];
  store: string;
}

export interface FlowEvent {
  seq: number;
  jobId: string;
  flowId: string;
  at: string;
  type: "status" | "record" | "routine" | "output";
  status?: JobStatus;
}
