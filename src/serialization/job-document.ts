import { z } from "zod";
import { JOB_STATUSES, type JobSnapshot } from "../state/job-snapshot.js";
import { checkPlainJson, checkVersion, documentError } from "./document-error.js";
import { assertJsonSafe } from "../core/json-value.js";

/** The version of JobStateDocument this release writes (it reads version 1 too). */
export const JOB_DOCUMENT_VERSION = 2;

const json = z.json();
const payload = z.record(z.string(), json);
const isoDate = z.iso.datetime({ offset: true });
const id = z.string().min(1);

/**
 * A pending task's schema, with `notBefore` as the given time schema (ISO text in documents,
 * epoch milliseconds in a store's log) and the given data schema (JSON in documents; any value in a
 * store's log, which JSON.parse made). @internal
 */
export function pendingTaskSchema<T extends z.ZodType, P extends z.ZodType = typeof payload>(time: T, data: P = payload as unknown as P) {
  return z.strictObject({
    taskId: z.int().positive(),
    routineId: id,
    slotName: id,
    data,
    connectionId: z.string().optional(),
    attempt: z.int().positive(),
    notBefore: time.optional(),
    key: z.string().optional(),
  });
}

const waitSchema = z.strictObject({
  routineId: id,
  slotName: id,
  prompt: z.string().optional(),
  schema: payload.optional(),
  group: z.string().optional(),
});

const jobDocumentSchema = z.strictObject({
  version: z.union([z.literal(1), z.literal(JOB_DOCUMENT_VERSION)]),
  kind: z.literal("routilux.job"),
  jobId: id,
  flowId: z.string(),
  status: z.enum(JOB_STATUSES as [string, ...string[]]),
  createdAt: isoDate,
  updatedAt: isoDate,
  currentRoutineId: z.string().nullable(),
  metadata: payload,
  checkpoint: payload.nullable(),
  executionHistory: z.array(z.strictObject({ routineId: z.string(), eventName: z.string(), data: payload, timestamp: isoDate })),
  routineStates: z.record(z.string(), payload),
  pausePoints: z.array(z.strictObject({ timestamp: isoDate, reason: z.string(), checkpoint: payload.optional() })),
  deferredEvents: z.array(z.strictObject({ routineId: id, eventName: id, data: payload })),
  pendingTasks: z.array(pendingTaskSchema(isoDate)),
  slotBuffers: z.array(z.strictObject({ routineId: id, slotName: id, data: payload })),
  sharedData: payload,
  sharedLog: z.array(json),
  outputLog: z.array(z.strictObject({ routineId: z.string(), outputType: z.string(), data: payload, timestamp: isoDate })),
  nextTaskId: z.int().positive(),
  timeoutMs: z.number().nonnegative().nullable(),
  runningMs: z.number().nonnegative(),
  /** The store revision of this state (version 2; 0 when never stored). */
  revision: z.int().nonnegative().optional(),
  /** Inputs the job waits for, and answers that arrived before their wait (version 2). */
  waitingFor: z.array(waitSchema).optional(),
  earlyAnswers: z.array(z.strictObject({ routineId: id, slotName: id, data: payload })).optional(),
}).superRefine((doc, ctx) => {
  const ids = new Set<number>();
  doc.pendingTasks.forEach((task, i) => {
    if (ids.has(task.taskId)) ctx.addIssue({ code: "custom", path: ["pendingTasks", i, "taskId"], message: `duplicate taskId ${task.taskId}` });
    ids.add(task.taskId);
    if (task.taskId >= doc.nextTaskId) {
      ctx.addIssue({ code: "custom", path: ["pendingTasks", i, "taskId"], message: `taskId ${task.taskId} is not below nextTaskId ${doc.nextTaskId}` });
    }
  });
});

/** A job written as plain JSON: everything needed to continue it, on this host or another. */
export type JobStateDocument = z.infer<typeof jobDocumentSchema>;

const iso = (ms: number): string => new Date(ms).toISOString();
const ms = (text: string): number => Date.parse(text);

/** @internal Writes a snapshot as a document; throws SerializationError for data JSON cannot hold. */
export function encodeJobDocument(s: JobSnapshot): JobStateDocument {
  const doc: JobStateDocument = {
    version: JOB_DOCUMENT_VERSION,
    kind: "routilux.job",
    jobId: s.jobId,
    flowId: s.flowId,
    status: s.status,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    currentRoutineId: s.currentRoutineId ?? null,
    metadata: s.metadata as JobStateDocument["metadata"],
    checkpoint: (s.checkpoint ?? null) as JobStateDocument["checkpoint"],
    executionHistory: s.history.map((r) => ({ ...r, timestamp: iso(r.timestamp) })) as JobStateDocument["executionHistory"],
    routineStates: s.routineStates as JobStateDocument["routineStates"],
    pausePoints: s.pausePoints.map((p) => ({
      timestamp: iso(p.timestamp),
      reason: p.reason,
      ...(p.checkpoint === undefined ? {} : { checkpoint: p.checkpoint }),
    })) as JobStateDocument["pausePoints"],
    deferredEvents: s.deferredEvents as JobStateDocument["deferredEvents"],
    pendingTasks: s.pendingTasks.map((t) => {
      const { notBefore, ...rest } = t;
      return notBefore === undefined ? rest : { ...rest, notBefore: iso(notBefore) };
    }) as JobStateDocument["pendingTasks"],
    slotBuffers: s.slotBuffers as JobStateDocument["slotBuffers"],
    sharedData: s.sharedData as JobStateDocument["sharedData"],
    sharedLog: s.sharedLog as JobStateDocument["sharedLog"],
    outputLog: s.outputLog.map((o) => ({ ...o, timestamp: iso(o.timestamp) })) as JobStateDocument["outputLog"],
    nextTaskId: s.nextTaskId,
    timeoutMs: s.timeoutMs ?? null,
    runningMs: s.runningMs,
    revision: s.revision,
    waitingFor: s.waitingFor as JobStateDocument["waitingFor"],
    earlyAnswers: s.earlyAnswers as JobStateDocument["earlyAnswers"],
  };
  assertJsonSafe(doc, `job '${s.jobId}'`);
  // A deep copy, so the document does not share objects with the live job.
  return JSON.parse(JSON.stringify(doc)) as JobStateDocument;
}

/**
 * @internal Validates a document and returns a fresh snapshot. Throws SerializationError naming
 * the first bad field; never returns partial data.
 */
export function decodeJobDocument(input: unknown): JobSnapshot {
  checkVersion("JobStateDocument", input, JOB_DOCUMENT_VERSION);
  const result = jobDocumentSchema.safeParse(input);
  if (!result.success) throw documentError("JobStateDocument", input, result.error);
  checkPlainJson("JobStateDocument", input);
  // The validated input itself, copied: zod's output would drop keys such as "__proto__" that
  // JSON.parse makes own properties (the schema has no transforms, so the shapes are the same).
  const d = structuredClone(input as typeof result.data);
  return {
    jobId: d.jobId,
    flowId: d.flowId,
    status: d.status as JobSnapshot["status"],
    createdAt: ms(d.createdAt),
    updatedAt: ms(d.updatedAt),
    currentRoutineId: d.currentRoutineId ?? undefined,
    metadata: d.metadata,
    checkpoint: d.checkpoint ?? undefined,
    history: d.executionHistory.map((r) => ({ ...r, timestamp: ms(r.timestamp) })),
    routineStates: d.routineStates,
    pausePoints: d.pausePoints.map((p) => ({ ...p, timestamp: ms(p.timestamp) })),
    deferredEvents: d.deferredEvents,
    pendingTasks: d.pendingTasks.map((t) => {
      const { notBefore, ...rest } = t;
      return notBefore === undefined ? rest : { ...rest, notBefore: ms(notBefore) };
    }),
    slotBuffers: d.slotBuffers,
    sharedData: d.sharedData,
    sharedLog: d.sharedLog,
    outputLog: d.outputLog.map((o) => ({ ...o, timestamp: ms(o.timestamp) })),
    nextTaskId: d.nextTaskId,
    timeoutMs: d.timeoutMs ?? undefined,
    runningMs: d.runningMs,
    revision: d.revision ?? 0,
    waitingFor: d.waitingFor ?? [],
    earlyAnswers: d.earlyAnswers ?? [],
  };
}
