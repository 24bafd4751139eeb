// The HTTP API with plain requests against a real server (port 0): every route, bad input, auth,
// read-only mode, event streams resumed with Last-Event-ID, and jobs run by another store handle.
import { createServer as createHttpServer } from "node:http";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Flow, type JobJson } from "../../src/index.js";
import { createServer, startServer, type RunningServer } from "../../src/server/index.js";
import { Gate, eventually, getWithHost, ordersFlow, readSse, tempStore, type SseEvent } from "./helpers.js";

type Json = Record<string, unknown>;

let temp: Awaited<ReturnType<typeof tempStore>>;
let flow: Flow;
let gate: Gate;
let server: RunningServer;
let base: string;

type Answer = { status: number; json: Json; headers: Headers };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] ??= "application/json";
  }
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  return { status: response.status, json: text === "" ? {} : (JSON.parse(text) as Json), headers: response.headers };
}

async function start(params: Json): Promise<string> {
  const { status, json } = await call("POST", "/api/flows/orders/jobs", { entryParams: params });
  expect(status, JSON.stringify(json)).toBe(201);
  return json.jobId as string;
}

async function jobOf(jobId: string): Promise<JobJson> {
  return (await call("GET", `/api/jobs/${jobId}`)).json as unknown as JobJson;
}

async function statusBecomes(jobId: string, status: string): Promise<JobJson> {
  return eventually(async () => {
    const job = await jobOf(jobId);
    return job.status === status ? job : undefined;
  });
}

function errorOf(json: Json): { code: string; message: string; path?: string } {
  return json.error as { code: string; message: string; path?: string };
}

beforeAll(async () => {
  temp = await tempStore();
  gate = new Gate();
  flow = ordersFlow(temp.store, gate);
  server = await startServer({ flows: [flow], port: 0, pollIntervalMs: 50, maxBodyBytes: 64 * 1024, dashboard: false });
  base = server.url.replace(/\/$/, "");
});

afterAll(async () => {
  gate.open();
  await server.close();
  await flow.shutdown({ graceMs: 1000 });
  await temp.cleanup();
});

describe("flows", () => {
  it("lists the flows and shows one with its spec and its graph (slots and events as ports, schemas as JSON Schema)", async () => {
    const list = await call("GET", "/api/flows");
    expect(list.status).toBe(200);
    expect(list.json.flows).toEqual([{ flowId: "orders", routines: 3, connections: 3, entryRoutineIds: ["take"] }]);
    const one = await call("GET", "/api/flows/orders");
    expect(one.status).toBe(200);
    type Routine = { id: string; slots: Array<{ name: string; schema?: Json }>; events: Array<{ name: string }> };
    const graph = one.json.graph as { routines: Routine[]; connections: unknown[] };
    const approve = graph.routines.find((r) => r.id === "approve")!;
    expect(approve.slots.map((s) => s.name)).toEqual(["input", "decision"]);
    expect(approve.slots[1]!.schema).toMatchObject({ type: "object", required: ["approved"], properties: { approved: { type: "boolean" } } });
    expect(graph.routines.find((r) => r.id === "take")!.events.map((e) => e.name)).toEqual(["taken"]);
    expect(graph.connections).toHaveLength(3);
    expect(one.json).toHaveProperty("spec");
  });

  it("answers 404 with a JSON error for an unknown flow or route", async () => {
    const flowMissing = await call("GET", "/api/flows/nope");
    expect(flowMissing.status).toBe(404);
    expect(errorOf(flowMissing.json)).toMatchObject({ code: "flow_not_found" });
    expect(errorOf(flowMissing.json).message).toContain("orders");
    const route = await call("GET", "/api/nothing-here");
    expect(route.status).toBe(404);
    expect(errorOf(route.json).code).toBe("not_found");
  });

  it("answers 405 with an Allow header for a method a route does not take", async () => {
    for (const [method, path, allow] of [
      ["DELETE", "/api/jobs/some-job", "GET, HEAD"], ["GET", "/api/jobs/some-job/pause", "POST"],
      ["PUT", "/api/flows/orders/jobs", "POST"], ["POST", "/api/health", "GET, HEAD"],
    ] as const) {
      const response = await call(method, path);
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get("allow"), `${method} ${path}`).toBe(allow);
      expect(errorOf(response.json)).toMatchObject({ code: "method_not_allowed" });
      expect(errorOf(response.json).message).toContain(method);
    }
  });

  it("sends X-Content-Type-Options: nosniff with every answer, errors and event streams too", async () => {
    for (const path of ["/api/health", "/api/jobs", "/api/flows/nope", "/api/nothing-here"]) {
      expect((await call("GET", path)).headers.get("x-content-type-options"), path).toBe("nosniff");
    }
    const controller = new AbortController();
    const stream = await fetch(`${base}/api/events`, { signal: controller.signal });
    expect(stream.headers.get("x-content-type-options")).toBe("nosniff");
    controller.abort();
  });

  it("serves health and an OpenAPI document that names every route", async () => {
    const health = await call("GET", "/api/health");
    expect(health.json).toMatchObject({ ok: true, readOnly: false, auth: "none", flows: ["orders"] });
    const doc = await call("GET", "/api/openapi.json");
    expect(doc.json.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.json.paths as Json);
    for (const path of ["/api/flows", "/api/flows/{flowId}", "/api/flows/{flowId}/jobs", "/api/jobs", "/api/jobs/{jobId}", "/api/jobs/{jobId}/pause",
      "/api/jobs/{jobId}/resume", "/api/jobs/{jobId}/cancel", "/api/jobs/{jobId}/answer", "/api/jobs/{jobId}/events", "/api/events", "/api/health"]) {
      expect(paths).toContain(path);
    }
    // Without a token, any route may refuse a client off loopback or a Host that is not a loopback name (403); none asks for a token.
    const operations = (document: Json): Array<[string, { responses: Json; security?: unknown[] }]> =>
      Object.entries(document.paths as Record<string, Record<string, { responses: Json; security?: unknown[] }>>)
        .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => [`${method} ${path}`, op] as [string, { responses: Json; security?: unknown[] }]));
    for (const [name, op] of operations(doc.json)) {
      expect(Object.keys(op.responses), name).toContain("403");
      expect(Object.keys(op.responses), name).not.toContain("401");
    }
    expect(doc.json.security).toEqual([]);
    expect(JSON.stringify(doc.json)).toContain("forbidden_host");
    const guarded = await startServer({ flows: [flow], port: 0, token: "doc-token-123", dashboard: false });
    try {
      const response = await fetch(`${guarded.url}api/openapi.json`, { headers: { Authorization: "Bearer doc-token-123" } });
      const withToken = (await response.json()) as Json;
      expect(withToken.security).toEqual([{ bearer: [] }]);
      for (const [name, op] of operations(withToken)) {
        if (name === "get /api/health") expect(op.security, name).toEqual([]);
        else expect(Object.keys(op.responses), name).toContain("401");
      }
    } finally {
      await guarded.close();
    }
  });
});

describe("jobs", () => {
  it("starts a job (201, its id and Location), shows it as `jobs show` does and lists it", async () => {
    const response = await call("POST", "/api/flows/orders/jobs", { entryParams: { item: "tea", quantity: 2 }, metadata: { by: "test" } });
    expect(response.status).toBe(201);
    const jobId = response.json.jobId as string;
    expect(response.headers.get("location")).toBe(`/api/jobs/${jobId}`);
    const job = await statusBecomes(jobId, "completed");
    expect(job).toMatchObject({ jobId, flowId: "orders", metadata: { by: "test" }, waitingFor: [], sharedData: { total: 6 } });
    expect(Object.keys(job.routineStates).sort()).toEqual(["approve", "take", "work"]);
    expect(job.history[0]).toMatchObject({ routineId: "take", eventName: "start", data: { item: "tea", quantity: 2 } });
    expect(job.outputs[0]).toMatchObject({ routineId: "approve", outputType: "approved", data: { auto: true } });
    const list = await call("GET", "/api/jobs?flowId=orders&status=completed");
    expect((list.json.jobs as Json[]).map((j) => j.jobId)).toContain(jobId);
    expect(list.json).toHaveProperty("nextCursor");
  });

  it("pages a list with limit and cursor, and refuses a bad status, limit or cursor with 400", async () => {
    for (let i = 0; i < 3; i++) await start({ item: `page-${i}`, quantity: 1 });
    const first = await call("GET", "/api/jobs?limit=2");
    expect((first.json.jobs as unknown[]).length).toBe(2);
    const cursor = first.json.nextCursor as string;
    expect(typeof cursor).toBe("string");
    const second = await call("GET", `/api/jobs?limit=2&cursor=${encodeURIComponent(cursor)}`);
    expect((second.json.jobs as Json[])[0]!.jobId).not.toBe((first.json.jobs as Json[])[0]!.jobId);
    const badStatus = await call("GET", "/api/jobs?status=running,sleeping");
    expect(badStatus.status).toBe(400);
    expect(errorOf(badStatus.json)).toMatchObject({ path: "status" });
    expect(errorOf(badStatus.json).message).toContain("'sleeping'");
    expect((await call("GET", "/api/jobs?limit=0")).status).toBe(400);
    expect((await call("GET", "/api/jobs?limit=abc")).status).toBe(400);
    expect((await call("GET", "/api/jobs?cursor=garbage")).status).toBe(400);
  });

  it("answers 404 for an unknown job on every job route", async () => {
    for (const [method, path] of [["GET", "/api/jobs/no-such-job"], ["POST", "/api/jobs/no-such-job/pause"], ["POST", "/api/jobs/no-such-job/resume"],
      ["POST", "/api/jobs/no-such-job/cancel"], ["GET", "/api/jobs/no-such-job/events"]] as const) {
      const response = await call(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(errorOf(response.json).code).toBe("job_not_found");
      // The message names the job, not where the store lies on disk.
      expect(errorOf(response.json).message).toContain("'no-such-job'");
      expect(errorOf(response.json).message).not.toContain(temp.path);
    }
    const answer = await call("POST", "/api/jobs/no-such-job/answer", { routineId: "approve", slotName: "decision", data: {} });
    expect(answer.status).toBe(404);
  });
});

describe("bad input changes nothing", () => {
  async function jobCount(): Promise<number> {
    return ((await call("GET", "/api/jobs?limit=1000")).json.jobs as unknown[]).length;
  }

  it("refuses malformed JSON, unknown fields, wrong types, entry params that miss the slot's schema and an unknown entry, with 400 naming the culprit", async () => {
    const before = await jobCount();
    const malformed = await call("POST", "/api/flows/orders/jobs", "{\"entryParams\": {");
    expect(malformed.status).toBe(400);
    expect(errorOf(malformed.json).code).toBe("invalid_json");
    const unknown = await call("POST", "/api/flows/orders/jobs", { entryParams: {}, priority: 3 });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown.json).message).toContain("'priority'");
    const wrongType = await call("POST", "/api/flows/orders/jobs", { entryParams: "tea" });
    expect(wrongType.status).toBe(400);
    expect(errorOf(wrongType.json).path).toBe("entryParams");
    const schema = await call("POST", "/api/flows/orders/jobs", { entryParams: { item: "tea", quantity: -1 } });
    expect(schema.status).toBe(400);
    expect(errorOf(schema.json)).toMatchObject({ code: "validation_failed", path: "quantity" });
    const entry = await call("POST", "/api/flows/orders/jobs", { entryRoutineId: "wrok", entryParams: { item: "tea", quantity: 1 } });
    expect(entry.status).toBe(400);
    expect(errorOf(entry.json).message).toContain("'wrok'");
    const notJson = await call("POST", "/api/flows/orders/jobs", "item=tea", { "Content-Type": "text/plain" });
    expect(notJson.status).toBe(415);
    expect(await jobCount()).toBe(before);
  });

  it("refuses a body over the size limit with 413", async () => {
    const before = await jobCount();
    const huge = await call("POST", "/api/flows/orders/jobs", { entryParams: { item: "x".repeat(100 * 1024), quantity: 1 } });
    expect(huge.status).toBe(413);
    expect(errorOf(huge.json).code).toBe("body_too_large");
    // Without a Content-Length (a streamed body), the limit holds as the body is read.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 100; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
        controller.close();
      },
    });
    const init = { method: "POST", body: stream, headers: { "Content-Type": "application/json" }, duplex: "half" as const };
    const response = await fetch(`${base}/api/flows/orders/jobs`, init);
    expect(response.status).toBe(413);
    expect(await jobCount()).toBe(before);
  });
});

describe("control", () => {
  it("pauses a running job, refuses a second pause with 409, resumes it and cancels it; an ended job refuses them all with 409", async () => {
    const jobId = await start({ item: "slow", quantity: 1, rounds: 200 });
    const pause = await call("POST", `/api/jobs/${jobId}/pause`, { reason: "lunch" });
    expect(pause.status, JSON.stringify(pause.json)).toBe(200);
    expect(pause.json).toMatchObject({ jobId, status: "paused" });
    const again = await call("POST", `/api/jobs/${jobId}/pause`);
    expect(again.status).toBe(409);
    expect(errorOf(again.json).message).toContain("paused");
    const resume = await call("POST", `/api/jobs/${jobId}/resume`);
    expect(resume.status, JSON.stringify(resume.json)).toBe(200);
    expect((await jobOf(jobId)).status).toBe("running");
    const cancel = await call("POST", `/api/jobs/${jobId}/cancel`, { reason: "not needed" });
    expect(cancel.status, JSON.stringify(cancel.json)).toBe(200);
    const cancelled = await statusBecomes(jobId, "cancelled");
    expect(cancelled.cancelReason).toBe("not needed");
    for (const kind of ["pause", "resume", "cancel"]) {
      const response = await call("POST", `/api/jobs/${jobId}/${kind}`);
      expect(response.status, kind).toBe(409);
    }
    expect((await call("POST", `/api/jobs/${jobId}/resume`, { force: true })).status).toBe(400);
  });

  it("answers a waiting job: bad data is refused with 400 naming the field and the job keeps waiting; a good answer completes it", async () => {
    const jobId = await start({ item: "desk", quantity: 1, ask: true });
    const waiting = await statusBecomes(jobId, "paused");
    expect(waiting.waitingFor).toEqual([{ routineId: "approve", slotName: "decision", prompt: "Approve 1 x desk?" }]);
    const bad = await call("POST", `/api/jobs/${jobId}/answer`, { routineId: "approve", slotName: "decision", data: { approved: "yes" } });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.json)).toMatchObject({ code: "validation_failed", path: "approved" });
    const wrongSlot = await call("POST", `/api/jobs/${jobId}/answer`, { routineId: "approve", slotName: "input", data: {} });
    expect(wrongSlot.status).toBe(409);
    expect(errorOf(wrongSlot.json).message).toContain("approve.decision");
    const unknownRoutine = await call("POST", `/api/jobs/${jobId}/answer`, { routineId: "aprove", slotName: "decision", data: {} });
    expect(unknownRoutine.status).toBe(400);
    const missing = await call("POST", `/api/jobs/${jobId}/answer`, { routineId: "approve", data: {} });
    expect(missing.status).toBe(400);
    expect(errorOf(missing.json).path).toBe("slotName");
    expect((await jobOf(jobId)).waitingFor).toHaveLength(1);
    const good = await call("POST", `/api/jobs/${jobId}/answer`, { routineId: "approve", slotName: "decision", data: { approved: true, comment: "ok" } });
    expect(good.status, JSON.stringify(good.json)).toBe(200);
    const done = await statusBecomes(jobId, "completed");
    expect(done.outputs.at(-1)).toMatchObject({ outputType: "approved", data: { approved: true, comment: "ok" } });
  });

  it("takes concurrent pause and cancel calls on one job: each answers 200 or 409, and the job ends cancelled", async () => {
    const jobId = await start({ item: "race", quantity: 1, rounds: 200 });
    const results = await Promise.all([
      call("POST", `/api/jobs/${jobId}/pause`),
      call("POST", `/api/jobs/${jobId}/cancel`),
      call("POST", `/api/jobs/${jobId}/cancel`),
    ]);
    for (const r of results) expect([200, 409], JSON.stringify(r.json)).toContain(r.status);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    await statusBecomes(jobId, "cancelled");
  });
  it("takes control calls sent at once one at a time: exactly one of each pair succeeds, the other is refused with 409 naming the status", async () => {
    const jobId = await start({ item: "pairs", quantity: 1, rounds: 200 });
    await statusBecomes(jobId, "running");
    const pair = async (kind: string, after: string): Promise<void> => {
      const results = await Promise.all([call("POST", `/api/jobs/${jobId}/${kind}`), call("POST", `/api/jobs/${jobId}/${kind}`)]);
      expect(results.map((r) => r.status).sort(), kind).toEqual([200, 409]);
      const refused = results.find((r) => r.status === 409)!;
      expect(errorOf(refused.json).message, kind).toContain(`it is ${after}`);
    };
    await pair("pause", "paused");
    await pair("resume", "running");
    await pair("cancel", "cancelled");
    expect((await jobOf(jobId)).status).toBe("cancelled");

    const waiting = await start({ item: "chair", quantity: 1, ask: true });
    await statusBecomes(waiting, "paused");
    const results = await Promise.all(["cancel", "resume", "cancel"].map((kind) => call("POST", `/api/jobs/${waiting}/${kind}`)));
    expect(results.filter((r) => r.status === 200), JSON.stringify(results.map((r) => r.json))).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(2);
    expect((await jobOf(waiting)).status).toBe("cancelled");
  });
});

describe("event streams", () => {
  function parsed(events: SseEvent[]): Array<Json & { seq: number; type: string; status?: string }> {
    return events.filter((e) => e.event === "message").map((e) => JSON.parse(e.data) as Json & { seq: number; type: string });
  }

  it("streams a job's events with its seq as id, resumes after Last-Event-ID without a gap, ends after the final status and then answers 204", async () => {
    const jobId = await start({ item: "lamp", quantity: 1, ask: true });
    const first = await readSse(`${base}/api/jobs/${jobId}/events`, {
      until: (events) => parsed(events).some((e) => e.type === "status" && e.status === "paused"),
    });
    expect(first.status).toBe(200);
    const seen = parsed(first.events);
    expect(seen[0]).toMatchObject({ type: "status", status: "running", seq: 1, jobId, flowId: "orders" });
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(first.events.filter((e) => e.event === "message").map((e) => e.id)).toEqual(seen.map((e) => String(e.seq)));
    const lastId = first.events.at(-1)!.id!;
    await call("POST", `/api/jobs/${jobId}/answer`, { routineId: "approve", slotName: "decision", data: { approved: false } });
    const rest = await readSse(`${base}/api/jobs/${jobId}/events`, { headers: { "Last-Event-ID": lastId } });
    expect(rest.ended).toBe(true);
    const later = parsed(rest.events);
    expect(later[0]!.seq).toBe(Number(lastId) + 1);
    expect(later.map((e) => e.seq)).toEqual(later.map((_, i) => Number(lastId) + 1 + i));
    expect(later.at(-1)).toMatchObject({ type: "status", status: "completed" });
    expect(later.some((e) => e.type === "record" && (e.record as Json).eventName === "answered")).toBe(true);
    const after = await fetch(`${base}/api/jobs/${jobId}/events`, { headers: { "Last-Event-ID": String(later.at(-1)!.seq) } });
    expect(after.status).toBe(204);
    const bad = await call("GET", `/api/jobs/${jobId}/events`, undefined, { "Last-Event-ID": "abc" });
    expect(bad.status).toBe(400);
  });

  it("answers 204 for a Last-Event-ID past the end of an ended job; for a live job it resets to the last event and goes on to the end", async () => {
    const jobId = await start({ item: "stool", quantity: 1, ask: true });
    await statusBecomes(jobId, "paused");
    let answered: Promise<unknown> | undefined;
    const { status, events, ended } = await readSse(`${base}/api/jobs/${jobId}/events`, {
      headers: { "Last-Event-ID": "99999" },
      // Once the stream has said where it stands, the job is answered: the stream carries it to the end.
      until: (seen) => {
        if (seen.length > 0 && answered === undefined) {
          answered = call("POST", `/api/jobs/${jobId}/answer`, { routineId: "approve", slotName: "decision", data: { approved: true } });
        }
        return false;
      },
    });
    expect((await answered as Answer).status).toBe(200);
    expect(status).toBe(200);
    expect(ended).toBe(true);
    expect(events[0]!.event).toBe("reset");
    expect(JSON.parse(events[0]!.data).reason).toContain("past this job's last event");
    const resetAt = Number(events[0]!.id);
    const later = parsed(events);
    expect(later[0]!.seq).toBe(resetAt + 1);
    expect(later.at(-1)).toMatchObject({ type: "status", status: "completed" });
    for (const id of [String(later.at(-1)!.seq), "99999"]) {
      const after = await fetch(`${base}/api/jobs/${jobId}/events`, { headers: { "Last-Event-ID": id } });
      expect(after.status, id).toBe(204);
    }
  });

  it("streams every job's events with a cursor as id; a client that reconnects with it gets what it missed", async () => {
    const opened = await readSse(`${base}/api/events`, { until: (events) => events.length >= 1 });
    expect(opened.events[0]!.event).toBe("ready");
    const cursor = opened.events[0]!.id!;
    const jobId = await start({ item: "pen", quantity: 4 });
    await statusBecomes(jobId, "completed");
    const missed = await readSse(`${base}/api/events`, {
      headers: { "Last-Event-ID": cursor },
      until: (events) => parsed(events).some((e) => e.jobId === jobId && e.status === "completed"),
    });
    const ofJob = parsed(missed.events).filter((e) => e.jobId === jobId);
    expect(ofJob[0]).toMatchObject({ type: "status", status: "running" });
    expect(ofJob.at(-1)).toMatchObject({ type: "status", status: "completed" });
    const ids = missed.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const stale = await readSse(`${base}/api/events`, { headers: { "Last-Event-ID": "0badc0de.5" }, until: (events) => events.length >= 1 });
    expect(stale.events[0]!.event).toBe("reset");
  });
});

describe("event streams that close", () => {
  it("keeps nothing of a closed stream: 50 streams opened and closed leave no listener behind and raise no warning", async () => {
    const listener = createServer({ flows: [flow], dashboard: false });
    const http = createHttpServer(listener);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
      const jobId = await start({ item: "tap", quantity: 1, ask: true });
      await statusBecomes(jobId, "paused");
      expect(listener.openStreams).toBe(0);
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 10 }, (_, i) =>
          readSse(i % 2 === 0 ? `${url}/api/events` : `${url}/api/jobs/${jobId}/events`, { until: (events) => events.length > 0 })));
      }
      await eventually(async () => (listener.openStreams === 0 ? true : undefined));
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
      await call("POST", `/api/jobs/${jobId}/cancel`);
    } finally {
      process.off("warning", onWarning);
      await listener.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    }
  });
});

describe("jobs of other processes", () => {
  it("shows a job that another store handle runs, streams its changes, and answers it through the store", async () => {
    const otherStore = temp.open();
    const other = ordersFlow(otherStore);
    try {
      const feed = readSse(`${base}/api/events`, {
        until: (events) => events.some((e) => e.event === "message" && (JSON.parse(e.data) as Json).status === "completed" && (JSON.parse(e.data) as Json).flowId === "orders" && otherIds.has((JSON.parse(e.data) as Json).jobId as string)),
        timeoutMs: 15_000,
      });
      // The server learns of the other handle's job by polling: the answer waits until a poll has reported it paused.
      const pausedSeen = readSse(`${base}/api/events`, {
        until: (events) => events.some((e) => {
          const data = e.event === "message" ? JSON.parse(e.data) as Json : undefined;
          return data?.type === "status" && data.status === "paused" && otherIds.has(data.jobId as string);
        }),
        timeoutMs: 15_000,
      });
      const otherIds = new Set<string>();
      const job = await other.start("take", { entryParams: { item: "chair", quantity: 2, ask: true } });
      otherIds.add(job.jobId);
      const shown = await eventually(async () => {
        const list = await call("GET", "/api/jobs?status=paused");
        return (list.json.jobs as Json[]).find((j) => j.jobId === job.jobId);
      });
      expect(shown).toMatchObject({ flowId: "orders", waitingFor: ["approve.decision"] });
      await pausedSeen;
      const answer = await call("POST", `/api/jobs/${job.jobId}/answer`, { routineId: "approve", slotName: "decision", data: { approved: true } });
      expect(answer.status, JSON.stringify(answer.json)).toBe(200);
      expect((await job.result()).status).toBe("completed");
      const events = (await feed).events.filter((e) => e.event === "message").map((e) => JSON.parse(e.data) as Json).filter((e) => e.jobId === job.jobId);
      expect(events.some((e) => e.type === "status" && e.status === "paused")).toBe(true);
      expect(events.at(-1)).toMatchObject({ type: "status", status: "completed" });
      const page = await jobOf(job.jobId);
      expect(page.status).toBe("completed");
    } finally {
      await other.shutdown({ graceMs: 1000 });
    }
  });
});

describe("who may do what", () => {
  it("in read-only mode shows jobs and refuses every change with 403", async () => {
    const readOnly = await startServer({ flows: [flow], port: 0, readOnly: true, dashboard: false });
    try {
      const url = readOnly.url.replace(/\/$/, "");
      expect((await fetch(`${url}/api/jobs`)).status).toBe(200);
      const start = await fetch(`${url}/api/flows/orders/jobs`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
      expect(start.status).toBe(403);
      expect(((await start.json()) as Json).error).toMatchObject({ code: "read_only" });
      expect((await fetch(`${url}/api/jobs/x/cancel`, { method: "POST" })).status).toBe(403);
    } finally {
      await readOnly.close();
    }
  });

  it("with a token requires it on every API route but health (401 otherwise), and health tells details only with it", async () => {
    const token = "s3cret-token-1234";
    const guarded = await startServer({ flows: [flow], port: 0, token, dashboard: false });
    try {
      const url = guarded.url.replace(/\/$/, "");
      const none = await fetch(`${url}/api/jobs`);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await fetch(`${url}/api/jobs`, { headers: { Authorization: "Bearer wrong-token-000" } })).status).toBe(401);
      expect((await fetch(`${url}/api/events`, { headers: { Authorization: "Basic abc" } })).status).toBe(401);
      expect((await fetch(`${url}/api/jobs`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
      // Health is open, but tells the flows and the store only to a client with the token.
      for (const headers of [{}, { Authorization: "Bearer wrong-token-000" }] as Array<Record<string, string>>) {
        const open = await fetch(`${url}/api/health`, { headers });
        expect(open.status).toBe(200);
        expect(await open.json()).toEqual({ ok: true, version: expect.any(String), auth: "bearer" });
      }
      const health = await fetch(`${url}/api/health`, { headers: { Authorization: `Bearer ${token}` } });
      expect(await health.json()).toMatchObject({ ok: true, auth: "bearer", readOnly: false, flows: ["orders"], store: expect.stringContaining(temp.path) });
    } finally {
      await guarded.close();
    }
  });

  it("refuses to listen off loopback without a token, and a server without one refuses clients off loopback", async () => {
    await expect(startServer({ flows: [flow], host: "0.0.0.0", port: 0 })).rejects.toThrow(/token/);
    const external = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === "IPv4" && !i.internal)?.address;
    const listener = createServer({ flows: [flow], dashboard: false });
    const http = createHttpServer(listener);
    await new Promise<void>((resolve) => http.listen(0, "0.0.0.0", resolve));
    try {
      const port = (http.address() as { port: number }).port;
      if (external !== undefined) {
        const response = await fetch(`http://${external}:${port}/api/jobs`);
        expect(response.status).toBe(403);
        expect(((await response.json()) as Json).error).toMatchObject({ code: "loopback_only" });
      }
      // A page of another site that reaches the loopback server by a name of its own (DNS rebinding) is refused.
      expect(await getWithHost(`http://127.0.0.1:${port}/api/jobs`, "evil.example")).toBe(403);
      expect(await getWithHost(`http://127.0.0.1:${port}/api/jobs`, `localhost:${port}`)).toBe(200);
      // Another site's page may not change jobs, even on loopback.
      const crossSite = await fetch(`http://127.0.0.1:${port}/api/flows/orders/jobs`, {
        method: "POST", headers: { Origin: "https://evil.example", "Content-Type": "application/json" }, body: "{}",
      });
      expect(crossSite.status).toBe(403);
      expect((await fetch(`http://127.0.0.1:${port}/api/jobs`)).status).toBe(200);
    } finally {
      await listener.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it("refuses bad options with one clear error", () => {
    expect(() => createServer({ flows: [] })).toThrow(/flows/);
    expect(() => createServer({ flows: [new Flow({ flowId: "bare" })] })).toThrow(/store/);
    expect(() => createServer({ flows: [flow], token: "short" })).toThrow(/token/);
    expect(() => createServer({ flows: [flow, ordersFlow(temp.store)] })).toThrow(/orders/);
  });
});
