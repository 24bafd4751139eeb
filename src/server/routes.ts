import type { Hono } from "hono";
import {
  jobSummaryToJson, jobToJson, type Flow, type JobStatus, type JobStore,
} from "../index.js";
import { HttpError } from "./errors.js";
import { KeyedQueue } from "./job-queue.js";
import { entryRoutinesOf, flowGraph } from "./flow-graph.js";

import { AnswerBody, EmptyBody, ReasonBody, StartJobBody, jobFilterOf, readJsonBody } from "./requests.js";
import type { Env, ResolvedOptions } from "./options.js";

/** Which statuses allow each control call (the job lifecycle's table). */
const ALLOWED: Record<"pause" | "resume" | "cancel" | "answer", { from: readonly JobStatus[]; says: string }> = {
  pause: { from: ["running"], says: "only a running job can be paused" },
  resume: { from: ["paused"], says: "only a paused job can be resumed" },
  cancel: { from: ["pending", "running", "paused"], says: "a job that has ended cannot be cancelled" },
  answer: { from: ["pending", "running", "paused"], says: "a job that has ended takes no answers" },
};

function flowOf(options: ResolvedOptions, flowId: string): Flow {
  const flow = options.flows.get(flowId);
  if (flow === undefined) {
    throw new HttpError(404, "flow_not_found", `No flow '${flowId}' on this server; its flows are: ${[...options.flows.keys()].join(", ")}`);
  }
  return flow;
}

async function storedJob(store: JobStore, jobId: string): Promise<{ flowId: string; status: JobStatus }> {
  const stored = await store.readJob(jobId);
  if (stored === undefined) throw new HttpError(404, "job_not_found", `No job '${jobId}' in this server's store`);
  return stored;
}

async function jobJson(store: JobStore, jobId: string): Promise<ReturnType<typeof jobToJson>> {
  const job = await store.loadJob(jobId);
  if (job === undefined) throw new HttpError(404, "job_not_found", `No job '${jobId}' in this server's store`);
  return jobToJson(job);
}

/** The JSON routes of flows and jobs (the event streams, health and OpenAPI routes are added by the app). */
export function addRoutes(app: Hono<Env>, options: ResolvedOptions): void {
  const { store } = options;
  // Control calls on one job run one at a time: each sees the status the previous one left.
  const controls = new KeyedQueue();

  app.get("/api/flows", (c) => c.json({
    flows: [...options.flows.values()].map((flow) => ({
      flowId: flow.flowId,
      routines: flow.routines.size,
      connections: flow.connections.length,
      entryRoutineIds: entryRoutinesOf(flow),
    })),
  }));

  app.get("/api/flows/:flowId", (c) => {
    const flow = flowOf(options, c.req.param("flowId"));
    let spec: unknown = null;
    let specError: string | undefined;
    try {
      spec = flow.toSpec();
    } catch (error) {
      specError = error instanceof Error ? error.message : String(error);
    }
    return c.json({ flowId: flow.flowId, spec, ...(specError === undefined ? {} : { specError }), graph: flowGraph(flow) });
  });

  app.post("/api/flows/:flowId/jobs", async (c) => {
    const flow = flowOf(options, c.req.param("flowId"));
    const body = await readJsonBody(c.req.raw, StartJobBody, options.maxBodyBytes);
    let entry = body.entryRoutineId;
    if (entry === undefined) {
      const entries = entryRoutinesOf(flow);
      if (entries.length !== 1) {
        throw new HttpError(400, "entry_required", entries.length === 0
          ? `Flow '${flow.flowId}' has no routine with a 'trigger' slot to start at`
          : `Flow '${flow.flowId}' can start at ${entries.map((e) => `'${e}'`).join(", ")}: give \`entryRoutineId\``, { path: "entryRoutineId" });
      }
      entry = entries[0]!;
    }
    if (flow.getRoutine(entry) === undefined) {
      throw new HttpError(400, "unknown_routine", `Flow '${flow.flowId}' has no routine '${entry}'; its routines are: ${[...flow.routines.keys()].join(", ")}`, { path: "entryRoutineId" });
    }
    const job = await flow.start(entry, {
      ...(body.entryParams === undefined ? {} : { entryParams: body.entryParams }),
      ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
    });
    c.header("Location", `/api/jobs/${job.jobId}`);
    return c.json({ jobId: job.jobId }, 201);
  });

  app.get("/api/jobs", async (c) => {
    const page = await store.listJobs(jobFilterOf((name) => c.req.query(name)));
    return c.json({ jobs: page.map(jobSummaryToJson), nextCursor: page.nextCursor ?? null });
  });

  app.get("/api/jobs/:jobId", async (c) => c.json(await jobJson(store, c.req.param("jobId"))));

  for (const kind of ["pause", "resume", "cancel", "answer"] as const) {
    app.post(`/api/jobs/:jobId/${kind}`, async (c) => {
      const jobId = c.req.param("jobId");
      const body = kind === "answer"
        ? await readJsonBody(c.req.raw, AnswerBody, options.maxBodyBytes)
        : await readJsonBody(c.req.raw, kind === "resume" ? EmptyBody : ReasonBody, options.maxBodyBytes);
      return c.json(await controls.run(jobId, () => control(options, kind, jobId, body)));
    });
  }
}

type ControlKind = keyof typeof ALLOWED;

/** One control call: refused with 409 when the job's status forbids it, else applied; answers the job after it. */
async function control(
  options: ResolvedOptions, kind: ControlKind, jobId: string, body: Record<string, unknown>,
): Promise<ReturnType<typeof jobToJson>> {
  const { store } = options;
  const stored = await storedJob(store, jobId);
  const flow = options.flows.get(stored.flowId);
  if (flow === undefined) {
    throw new HttpError(409, "flow_not_served", `Job '${jobId}' is of flow '${stored.flowId}', which this server does not serve; its flows are: ${[...options.flows.keys()].join(", ")}`);
  }
  const allowed = ALLOWED[kind];
  if (!allowed.from.includes(stored.status)) {
    throw new HttpError(409, "conflict", `Cannot ${kind} job '${jobId}': it is ${stored.status}, and ${allowed.says}`);
  }
  const reason = typeof body.reason === "string" ? { reason: body.reason } : {};
  switch (kind) {
    case "pause":
      await flow.pause(jobId, reason);
      break;
    case "resume":
      await flow.resume(jobId);
      break;
    case "cancel":
      await flow.cancel(jobId, reason);
      break;
    case "answer": {
      const answer = body as { routineId: string; slotName: string; data: Record<string, unknown> };
      await flow.answer(jobId, answer.routineId, answer.slotName, answer.data);
      break;
    }
  }
  return jobJson(store, jobId);
}
