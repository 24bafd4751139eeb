import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Flow, JOB_DOCUMENT_VERSION, JobState, JobStateError, SimulatedClock, type JobStateDocument } from "../../src/index.js";
import { gate, routine, sleep, thrownBy, workOf } from "../fixtures/testing.js";
import { RETRY_DELAY_MS, buildRichFlow, richPausedJob } from "./fixtures.js";

/** serialize -> JSON.stringify -> JSON.parse -> fromDocument: what another process would read. */
function throughJson(job: JobState): JobState {
  return JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
}

/** Every public part of a job, as plain comparable data (dates as ISO strings). */
function view(job: JobState): Record<string, unknown> {
  const iso = (d: Date): string => d.toISOString();
  return {
    jobId: job.jobId,
    flowId: job.flowId,
    status: job.status,
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    currentRoutineId: job.currentRoutineId,
    metadata: job.metadata,
    checkpoint: job.checkpoint,
    executionHistory: job.executionHistory.map((r) => ({
      routineId: r.routineId, eventName: r.eventName, data: r.data, at: iso(r.timestamp),
    })),
    routineStates: job.routineStates,
    pausePoints: job.pausePoints.map((p) => ({ reason: p.reason, checkpoint: p.checkpoint, at: iso(p.timestamp) })),
    deferredEvents: job.deferredEvents,
    pendingTasks: job.pendingTasks,
    sharedData: job.sharedData,
    sharedLog: job.sharedLog,
    outputLog: job.outputLog.map((o) => ({ routineId: o.routineId, outputType: o.outputType, data: o.data, at: iso(o.timestamp) })),
  };
}

describe("a JobState round trip through a JSON document", () => {
  it("keeps every part of a paused job: history, routine states, pause point, deferred events, pending retries, slot buffers, shared data and log, outputs, metadata", async () => {
    const { job } = await richPausedJob();
    const doc = job.serialize();
    const copy = throughJson(job);

    expect(copy.serialize()).toEqual(doc);
    expect(view(copy)).toEqual(view(job));
    // Each kind of state is really there (a round trip of empty parts would prove nothing).
    expect(doc.version).toBe(JOB_DOCUMENT_VERSION);
    expect(doc.kind).toBe("routilux.job");
    expect(copy.status).toBe("paused");
    expect(copy.executionHistory.length).toBeGreaterThanOrEqual(8);
    expect(copy.routineStates.src).toEqual({ custom: "value", nested: { list: [1, 2, 3] }, status: "completed" });
    expect(copy.pausePoints).toHaveLength(1);
    expect(copy.pausePoints[0]!.checkpoint).toEqual({ step: "after-fan-out", seen: [1, 2] });
    expect(copy.checkpoint).toEqual({ step: "after-fan-out", seen: [1, 2] });
    expect(copy.deferredEvents).toEqual([{ routineId: "ask", eventName: "answered", data: { question: "Continue?", v: 1 } }]);
    expect(copy.pendingTasks.map((t) => [t.routineId, t.attempt, t.notBefore])).toEqual([
      ["flaky", 2, Date.UTC(2025, 0, 1) + RETRY_DELAY_MS],
      ["flaky", 2, Date.UTC(2025, 0, 1) + RETRY_DELAY_MS],
    ]);
    expect(doc.slotBuffers).toEqual([
      { routineId: "app", slotName: "in", data: { v: [1, 2], n: [2, 3] } },
      { routineId: "cus", slotName: "in", data: { total: 5, last: 2 } },
    ]);
    expect(copy.sharedData).toMatchObject({ items: ["a", "b"], count: 2, total: 5 });
    expect(copy.sharedLog).toEqual([{ action: "start", input: { user: "ada", tags: ["x", "y"] } }, "plain entry"]);
    expect(copy.outputLog.map((o) => [o.routineId, o.outputType, o.data])).toEqual([["src", "status", { progress: 50, status: "in_progress" }]]);
    expect(copy.metadata).toEqual({ requestId: "r-1", tries: 3 });
    expect(doc.timeoutMs).toBe(60_000);
  });

  it("the document shares no objects with the live job, in either direction", async () => {
    const { job } = await richPausedJob();
    const doc = job.serialize();
    const before = JSON.stringify(doc);
    (job.sharedData.items as string[]).push("mutated after serialize");
    job.metadata.requestId = "changed";
    expect(JSON.stringify(doc)).toBe(before);

    const copy = JobState.fromDocument(doc);
    (copy.sharedData.items as string[]).push("mutated after read");
    (copy.routineStates.src!.nested as { list: number[] }).list.push(4);
    expect(JSON.stringify(doc)).toBe(before);
  });

  it("job.deserialize(doc) replaces every part of an existing JobState, jobId included", async () => {
    const { job } = await richPausedJob();
    const target = new JobState("something-else");
    target.updateSharedData("stale", true);
    target.appendToSharedLog("stale");
    target.deserialize(JSON.parse(JSON.stringify(job.serialize())));
    expect(target.jobId).toBe(job.jobId);
    expect(target.sharedData).not.toHaveProperty("stale");
    expect(target.serialize()).toEqual(job.serialize());
  });

  it("job.deserialize refuses while the job runs or a handler of it is in flight, even one a shutdown left behind", async () => {
    const release = gate();
    const flow = new Flow({ flowId: "busy" });
    flow.addRoutine(routine({ trigger: () => release.wait }), "slow");
    const job = flow.execute("slow");
    await new Promise((resolve) => setImmediate(resolve));
    const doc = JSON.parse(JSON.stringify(job.serialize())) as JobStateDocument;
    expect(thrownBy(() => job.deserialize(doc))).toBeInstanceOf(JobStateError);

    // Let go by the shutdown, the job runs nowhere here, but its handler still runs.
    await flow.shutdown({ graceMs: 1 });
    expect(job.status).toBe("running");
    const error = thrownBy(() => job.deserialize(doc));
    expect(error).toBeInstanceOf(JobStateError);
    expect(error.message).toMatch(/1 handler\(s\) running/);
    // Its document lists the task once, to run again wherever the job goes.
    expect(job.serialize().pendingTasks.map((t) => t.slotName)).toEqual(["trigger"]);

    release.open();
    await new Promise((resolve) => setImmediate(resolve));
    job.deserialize(doc);
    expect(job.serialize().pendingTasks.map((t) => t.slotName)).toEqual(["trigger"]);
  });

  it("a job read back with job.deserialize while it waited for a worker runs on its new run only: pause then waits for its handler", async () => {
    const flow = new Flow({ flowId: "ring", executionStrategy: "concurrent", maxWorkers: 1 });
    const first = gate();
    const second = gate();
    flow.addRoutine(routine({ trigger: (data) => (data.which === "first" ? first.wait : second.wait) }), "slow");
    const busy = flow.execute("slow", { entryParams: { which: "first" } });
    await new Promise((resolve) => setImmediate(resolve));
    // The only worker is busy: this job waits for it with its trigger queued.
    const job = flow.execute("slow", { entryParams: { which: "second" } });
    await new Promise((resolve) => setImmediate(resolve));
    await flow.pause(job);
    job.deserialize(JSON.parse(JSON.stringify(job.serialize())));
    flow.resume(job);
    first.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(busy.status).toBe("completed");

    const pausing = flow.pause(job);
    second.open();
    expect(await Promise.race([pausing.then(() => "paused"), sleep(500).then(() => "still pausing")])).toBe("paused");
    expect(job.status).toBe("paused");
    expect(job.pendingTasks).toEqual([]);
  });

  it("a copy resumed on a new Flow instance finishes exactly as the original does: retries wait for notBefore, buffers go on merging", async () => {
    const { flow, job, clock, calls } = await richPausedJob();
    const copy = throughJson(job);
    const otherClock = new SimulatedClock();
    const other = buildRichFlow(otherClock);

    for (const [f, j, c] of [[flow, job, clock], [other.flow, copy, otherClock]] as const) {
      j.updateSharedData("answer", "yes");
      expect(f.resume(j)).toBe(j);
      await c.advance(RETRY_DELAY_MS - 1);
    }
    // The deferred event ran at once; the retries still wait for their time, on both.
    expect(other.calls).toEqual({ fin: 1, app: 1 });
    expect(calls.flaky).toBe(2);
    for (const [f, j, c] of [[flow, job, clock], [other.flow, copy, otherClock]] as const) {
      await c.advance(1);
      expect(await JobState.waitForCompletion(f, j, { timeoutMs: 1000 })).toBe(true);
      expect(j.status).toBe("completed");
    }
    expect(other.calls).toEqual({ fin: 1, app: 1, flaky: 2 });
    expect(workOf(copy.executionHistory)).toEqual(workOf(job.executionHistory));
    expect(copy.sharedData).toEqual(job.sharedData);
    // The append buffer kept [1, 2] across the document and added 99; the retries ran as attempt 2.
    expect(copy.sharedData.appended).toEqual({ v: [1, 2, 99], n: [2, 3] });
    expect(copy.sharedLog.filter((e) => typeof e === "object" && e !== null && (e as { action?: unknown }).action === "flaky ok"))
      .toEqual([{ action: "flaky ok", attempt: 2, v: 1 }, { action: "flaky ok", attempt: 2, v: 2 }]);
    expect(copy.outputLog.map((o) => [o.outputType, o.data])).toEqual([
      ["status", { progress: 50, status: "in_progress" }],
      ["final", { answer: "yes", question: "Continue?" }],
    ]);
    expect(copy.deferredEvents).toEqual([]);
  });
});

// ------------------------------------------------------------------ property-based round trips

const ident = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
const iso = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(ms).toISOString());
/** A JSON value, typed as the document schema types one. */
type JsonValue = JobStateDocument["sharedLog"][number];
const json = fc.jsonValue({ maxDepth: 3 }) as unknown as fc.Arbitrary<JsonValue>;
const payload = fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 4 });
const statusArb = fc.constantFrom("pending", "running", "completed", "failed", "paused", "cancelled");

const taskArb = fc.record({
  routineId: ident,
  slotName: ident,
  data: payload,
  connectionId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }),
  attempt: fc.integer({ min: 1, max: 5 }),
  notBefore: fc.option(iso, { nil: undefined }),
});

/** A valid JobStateDocument with arbitrary content in every part. */
/** The object without its undefined members (a document never holds them). */
const withoutUndefined = (value: object): object => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

const documentArb: fc.Arbitrary<JobStateDocument> = fc.record({
  jobId: fc.uuid(),
  flowId: fc.string({ maxLength: 10 }),
  status: statusArb,
  createdAt: iso,
  updatedAt: iso,
  currentRoutineId: fc.option(ident, { nil: null }),
  metadata: payload,
  checkpoint: fc.option(payload, { nil: null }),
  executionHistory: fc.array(
    fc.record({ routineId: fc.string(), eventName: fc.string(), data: payload, timestamp: iso }),
    { maxLength: 5 },
  ),
  routineStates: fc.dictionary(ident, payload, { maxKeys: 4 }),
  pausePoints: fc.array(
    fc.record({ timestamp: iso, reason: fc.string(), checkpoint: fc.option(payload, { nil: undefined }) }),
    { maxLength: 3 },
  ),
  deferredEvents: fc.array(fc.record({ routineId: ident, eventName: ident, data: payload }), { maxLength: 3 }),
  tasks: fc.array(taskArb, { maxLength: 5 }),
  slotBuffers: fc.uniqueArray(fc.record({ routineId: ident, slotName: ident, data: payload }), {
    maxLength: 3,
    selector: (b) => `${b.routineId}/${b.slotName}`,
  }),
  sharedData: payload,
  sharedLog: fc.array(json, { maxLength: 4 }),
  outputLog: fc.array(
    fc.record({ routineId: fc.string(), outputType: fc.string(), data: payload, timestamp: iso }),
    { maxLength: 3 },
  ),
  gap: fc.integer({ min: 0, max: 3 }),
  timeoutMs: fc.option(fc.integer({ min: 0, max: 1e9 }), { nil: null }),
  runningMs: fc.double({ min: 0, max: 1e9, noNaN: true }),
  revision: fc.nat({ max: 1e6 }),
  waitingFor: fc.uniqueArray(
    fc.record({
      routineId: ident,
      slotName: ident,
      prompt: fc.option(fc.string(), { nil: undefined }),
      group: fc.option(ident, { nil: undefined }),
    }),
    { maxLength: 3, selector: (w) => `${w.routineId}/${w.slotName}` },
  ).map((waits) => waits.map((w) => withoutUndefined(w) as { routineId: string; slotName: string })),
  earlyAnswers: fc.array(fc.record({ routineId: ident, slotName: ident, data: payload }), { maxLength: 2 }),
}).map(({ tasks, gap, pausePoints, ...rest }) => {
  const pendingTasks = tasks.map((t, i) => {
    const task: JobStateDocument["pendingTasks"][number] = { taskId: i * 2 + 1, routineId: t.routineId, slotName: t.slotName, data: t.data, attempt: t.attempt };
    if (t.connectionId !== undefined) task.connectionId = t.connectionId;
    if (t.notBefore !== undefined) task.notBefore = t.notBefore;
    return task;
  });
  return {
    version: JOB_DOCUMENT_VERSION,
    kind: "routilux.job" as const,
    ...rest,
    pausePoints: pausePoints.map((p) => (p.checkpoint === undefined ? { timestamp: p.timestamp, reason: p.reason } : p)),
    pendingTasks,
    nextTaskId: tasks.length * 2 + 1 + gap,
  };
});

/** What JSON makes of a value (drops undefined members, turns -0 into 0). */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe("JobState documents, property-based", () => {
  it("any valid document reads and writes back unchanged, through JSON", () => {
    fc.assert(
      fc.property(documentArb, (doc) => {
        const text = JSON.stringify(doc);
        const job = JobState.fromDocument(JSON.parse(text));
        expect(asJson(job.serialize())).toEqual(asJson(doc));
        expect(job.pendingTasks.length).toBe(doc.pendingTasks.length);
        expect(job.deferredEvents.length).toBe(doc.deferredEvents.length);
        // And a second trip changes nothing.
        expect(throughJson(job).serialize()).toEqual(job.serialize());
      }),
      { numRuns: 200 },
    );
  });

  type Op =
    | { kind: "record"; routineId: string; eventName: string; data: Record<string, unknown> }
    | { kind: "state"; routineId: string; state: Record<string, unknown> }
    | { kind: "shared"; key: string; value: unknown }
    | { kind: "log"; entry: unknown }
    | { kind: "output"; routineId: string; outputType: string; data: Record<string, unknown> }
    | { kind: "deferred"; routineId: string; eventName: string; data: Record<string, unknown> }
    | { kind: "metadata"; data: Record<string, unknown> }
    | { kind: "checkpoint"; data: Record<string, unknown> };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("record" as const), routineId: ident, eventName: ident, data: payload }),
    fc.record({ kind: fc.constant("state" as const), routineId: ident, state: payload }),
    fc.record({ kind: fc.constant("shared" as const), key: fc.string({ maxLength: 6 }), value: json }),
    fc.record({ kind: fc.constant("log" as const), entry: json }),
    fc.record({ kind: fc.constant("output" as const), routineId: ident, outputType: ident, data: payload }),
    fc.record({ kind: fc.constant("deferred" as const), routineId: ident, eventName: ident, data: payload }),
    fc.record({ kind: fc.constant("metadata" as const), data: payload }),
    fc.record({ kind: fc.constant("checkpoint" as const), data: payload }),
  );

  it("whatever the public API puts in a JobState comes back from its document", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
        const job = new JobState("prop-flow");
        for (const op of ops) {
          switch (op.kind) {
            case "record": job.recordExecution(op.routineId, op.eventName, op.data); break;
            case "state": job.updateRoutineState(op.routineId, op.state); break;
            case "shared": job.updateSharedData(op.key, op.value); break;
            case "log": job.appendToSharedLog(op.entry); break;
            case "output": job.sendOutput(op.routineId, op.outputType, op.data); break;
            case "deferred": job.addDeferredEvent(op.routineId, op.eventName, op.data); break;
            case "metadata": job.metadata = op.data; break;
            case "checkpoint": job.checkpoint = op.data; break;
          }
        }
        const copy = throughJson(job);
        expect(asJson(view(copy))).toEqual(asJson(view(job)));
        expect(copy.serialize()).toEqual(job.serialize());
      }),
      { numRuns: 200 },
    );
  });
});
