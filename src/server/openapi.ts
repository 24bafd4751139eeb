import { z } from "zod";
import { JOB_STATUSES } from "../index.js";
import { AnswerBody, ReasonBody, StartJobBody } from "./requests.js";

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema): Schema => ({ "application/json": { schema } });
const body = (schema: z.ZodType, required: boolean): Schema => ({ required, content: json(z.toJSONSchema(schema, { io: "input" })) });
const ok = (description: string, schema: Schema): Schema => ({ description, content: json(schema) });
const errors = (...codes: number[]): Schema =>
  Object.fromEntries(codes.map((code) => [String(code), { description: ERROR_TEXT[code] ?? "Error", content: json(ref("Error")) }]));
const sse = (description: string): Schema => ({ description, content: { "text/event-stream": { schema: { type: "string" } } } });

const ERROR_TEXT: Record<number, string> = {
  400: "Bad input: the message and `path` name the culprit",
  401: "A token is required (Authorization: Bearer <token>)",
  403: "Refused (`code` says why): `read_only` mode, a change sent from another origin (`cross_origin`), or, on a server without a token, a client off loopback (`loopback_only`) or a Host that is not a loopback name (`forbidden_host`)",
  404: "No such flow or job",
  409: "The job's status forbids the call",
  413: "The body is larger than the server accepts",
  415: "The body is not JSON",
};

/** How the server is set up, as far as the document tells: with a token, every route but health answers 401 without it. */
export interface ApiSetup {
  readonly token: boolean;
}

const jobId = { name: "jobId", in: "path", required: true, schema: { type: "string" } };
const flowId = { name: "flowId", in: "path", required: true, schema: { type: "string" } };
const lastEventId = { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } };

function control(kind: string, summary: string, bodySchema: Schema | undefined, access: number[]): Schema {
  return {
    post: {
      operationId: `${kind}Job`,
      summary,
      parameters: [jobId],
      ...(bodySchema === undefined ? {} : { requestBody: bodySchema }),
      responses: { 200: ok("The job after the call", ref("Job")), ...errors(400, ...access, 403, 404, 409, 413, 415) },
    },
  };
}

/**
 * The OpenAPI 3.1 document of the HTTP API, served at `/api/openapi.json`. With a token, every
 * route but health requires it (security `bearer`, 401 listed); without one, the server answers
 * loopback clients by loopback names only (403 listed).
 */
export function openApiDocument(version: string, setup: ApiSetup): object {
  // What any route may answer for who asks: 401 without the token, or 403 off loopback.
  const access = setup.token ? [401] : [403];
  return {
    openapi: "3.1.0",
    info: {
      title: "routilux HTTP API",
      version,
      description: "Flows and jobs as JSON; live events as Server-Sent Events. Errors are `{ error: { code, message, path? } }`. "
        + "A method a route does not take is answered 405 with an `Allow` header.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, path: { type: "string" } } } },
        },
        JobStatus: { type: "string", enum: [...JOB_STATUSES] },
        JobSummary: {
          type: "object",
          required: ["jobId", "flowId", "status", "createdAt", "updatedAt", "revision", "metadata", "waitingFor"],
          properties: {
            jobId: { type: "string" }, flowId: { type: "string" }, status: ref("JobStatus"),
            createdAt: { type: "string", format: "date-time" }, updatedAt: { type: "string", format: "date-time" },
            revision: { type: "integer" }, metadata: { type: "object" }, waitingFor: { type: "array", items: { type: "string" } },
          },
        },
        Job: {
          type: "object",
          description: "A job as `routilux jobs show --json` prints it (jobToJson).",
          required: ["jobId", "flowId", "status", "routineStates", "history", "waitingFor"],
          properties: {
            jobId: { type: "string" }, flowId: { type: "string" }, status: ref("JobStatus"),
            createdAt: { type: "string", format: "date-time" }, updatedAt: { type: "string", format: "date-time" },
            revision: { type: "integer" }, metadata: { type: "object" },
            waitingFor: { type: "array", items: { type: "object", properties: { routineId: { type: "string" }, slotName: { type: "string" }, prompt: { type: "string" }, schema: { type: "object" } } } },
            error: { type: "object" }, cancelReason: { type: "string" },
            routineStates: { type: "object" }, history: { type: "array", items: { type: "object" } }, sharedData: { type: "object" },
            sharedLog: { type: "array" }, outputs: { type: "array" }, pendingTasks: { type: "array" }, deferredEvents: { type: "array" }, pausePoints: { type: "array" },
          },
        },
        FlowEvent: {
          type: "object",
          description: "A job's change, numbered per job by `seq`: `status`, `record`, `routine` or `output`.",
          required: ["seq", "jobId", "flowId", "at", "type"],
          properties: { seq: { type: "integer" }, jobId: { type: "string" }, flowId: { type: "string" }, at: { type: "string", format: "date-time" }, type: { type: "string", enum: ["status", "record", "routine", "output"] } },
        },
      },
    },
    security: setup.token ? [{ bearer: [] }] : [],
    paths: {
      "/api/health": { get: { operationId: "health", summary: "Whether the server runs (open): `{ ok, version, auth }`; with the token, or on a server without one, also `readOnly`, `flows` and `store`", security: [], responses: { 200: ok("Health", { type: "object" }), ...errors(...access.filter((code) => code !== 401)) } } },
      "/api/openapi.json": { get: { operationId: "openApi", summary: "This document", responses: { 200: ok("The OpenAPI document", { type: "object" }), ...errors(...access) } } },
      "/api/flows": { get: { operationId: "listFlows", summary: "The flows this server shows", responses: { 200: ok("The flows", { type: "object" }), ...errors(...access) } } },
      "/api/flows/{flowId}": {
        get: {
          operationId: "getFlow", summary: "A flow's spec and graph (routines with slots and events, connections)", parameters: [flowId],
          responses: { 200: ok("The flow", { type: "object" }), ...errors(...access, 404) },
        },
      },
      "/api/flows/{flowId}/jobs": {
        post: {
          operationId: "startJob",
          summary: "Starts a job; the entry defaults to the flow's one routine with a trigger slot",
          parameters: [flowId],
          requestBody: body(StartJobBody, false),
          responses: { 201: ok("Started", { type: "object", required: ["jobId"], properties: { jobId: { type: "string" } } }), ...errors(400, ...access, 403, 404, 413, 415) },
        },
      },
      "/api/jobs": {
        get: {
          operationId: "listJobs",
          summary: "The store's jobs, oldest first, a page at a time",
          parameters: [
            { name: "flowId", in: "query", schema: { type: "string" } },
            { name: "status", in: "query", description: "One status, or several separated by commas", schema: { type: "string" } },
            { name: "cursor", in: "query", schema: { type: "string" } },
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 50 } },
          ],
          responses: {
            200: ok("A page", { type: "object", properties: { jobs: { type: "array", items: ref("JobSummary") }, nextCursor: { type: ["string", "null"] } } }),
            ...errors(400, ...access),
          },
        },
      },
      "/api/jobs/{jobId}": { get: { operationId: "getJob", summary: "A job, as `jobs show --json` prints it", parameters: [jobId], responses: { 200: ok("The job", ref("Job")), ...errors(...access, 404) } } },
      "/api/jobs/{jobId}/pause": control("pause", "Pauses a running job", body(ReasonBody, false), access),
      "/api/jobs/{jobId}/resume": control("resume", "Resumes a paused job (one that waits for input is answered instead)", undefined, access),
      "/api/jobs/{jobId}/cancel": control("cancel", "Cancels a job that has not ended", body(ReasonBody, false), access),
      "/api/jobs/{jobId}/answer": control("answer", "Answers an input the job waits for; the data is checked against the slot's schema", body(AnswerBody, true), access),
      "/api/jobs/{jobId}/events": {
        get: {
          operationId: "jobEvents",
          summary: "The job's events as Server-Sent Events (`id:` is the event's seq); resumable with Last-Event-ID; ends after the final status",
          parameters: [jobId, lastEventId],
          responses: { 200: sse("FlowEvent JSON in `data:`"), 204: { description: "The job has ended and nothing follows Last-Event-ID" }, ...errors(400, ...access, 404) },
        },
      },
      "/api/events": {
        get: {
          operationId: "allEvents",
          summary: "Every job's events as Server-Sent Events (`id:` is a cursor over all jobs); resumable with Last-Event-ID",
          parameters: [{ name: "flowId", in: "query", schema: { type: "string" } }, lastEventId],
          responses: { 200: sse("`event: ready` with the cursor first (without Last-Event-ID), then FlowEvent JSON in `data:`"), ...errors(...access) },
        },
      },
    },
  };
}
