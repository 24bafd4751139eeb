// HumanInput: asks, pauses the job without holding a worker, validates answers against its JSON
// Schema, and is answered in this process, from a document, or through a store in another.
import { afterEach, describe, expect, it } from "vitest";
import { Flow, FlowDefinitionError, HumanInput, JobState, MemoryJobStore, SimulatedClock, ValidationError, type FlowOptions } from "../../src/index.js";
import { rejectionOf, thrownBy } from "../fixtures/testing.js";
import { feedRegistry, steps } from "./feed.js";
import { closeAll, track, trackStore } from "./helpers.js";

afterEach(closeAll);

const SCHEMA = {
  type: "object",
  properties: { approved: { type: "boolean" }, comment: { type: "string" } },
  required: ["approved"],
};

/** ask (HumanInput) -> done (a Filter that passes everything), so `answered` is seen downstream. */
function approval(options: FlowOptions = {}, config: Record<string, unknown> = { prompt: "Publish?", schema: SCHEMA }): Flow {
  return track(Flow.fromSpec({
    flowId: "approval",
    routines: { ask: { class: "HumanInput", config }, done: { class: "Filter" } },
    connections: [{ from: "ask.answered", to: "done.input" }],
  }, undefined, options));
}

function answeredOf(job: JobState): unknown[] {
  return job.executionHistory.filter((r) => r.routineId === "done" && r.eventName === "passed").map((r) => r.data);
}

describe("HumanInput", () => {
  it("pauses the job with its prompt and schema, and emits the answer with the request", async () => {
    const flow = approval();
    const job = flow.execute("ask", { entryParams: { draft: "Hello" } });
    const paused = await job.result();
    expect(paused).toMatchObject({
      status: "paused",
      waitingFor: [{ routineId: "ask", slotName: "answer", prompt: "Publish?", schema: SCHEMA }],
    });
    expect(job.getRoutineState("ask")).toMatchObject({ humanInput: { request: { draft: "Hello" } } });
    await flow.answer(job, "ask", "answer", { approved: true, comment: "ok" });
    expect(await job.result()).toMatchObject({ status: "completed" });
    expect(answeredOf(job)).toEqual([{ answer: { approved: true, comment: "ok" }, request: { draft: "Hello" } }]);
    expect(job.getRoutineState("ask")).toMatchObject({ humanInput: {} });
  });

  it("refuses an answer that does not fit the schema, and keeps waiting", async () => {
    const flow = approval();
    const job = flow.execute("ask", { entryParams: {} });
    await job.result();
    const error = await rejectionOf(flow.answer(job, "ask", "answer", { approved: "yes" }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/^the answer to 'ask\.answer' of job '.*' does not fit its schema at 'approved'/);
    expect(job.status).toBe("paused");
    expect(job.waitingFor).toHaveLength(1);
    await flow.answer(job, "ask", "answer", { approved: false });
    expect(answeredOf(job)).toEqual([{ answer: { approved: false }, request: {} }]);
  });

  it("shows a message's own prompt instead of the configured one", async () => {
    const flow = approval();
    const job = flow.execute("ask", { entryParams: { prompt: "Publish 'Hello'?" } });
    expect(await job.result()).toMatchObject({ waitingFor: [{ prompt: "Publish 'Hello'?" }] });
  });

  it("checks an answer given before the question against its schema, and waits on when it is wrong", async () => {
    const clock = new SimulatedClock();
    const flow = track(Flow.fromSpec({
      flowId: "early",
      routines: { feed: { class: "Feed" }, ask: { class: "HumanInput", config: { schema: SCHEMA } } },
      connections: [{ from: "feed.out", to: "ask.input" }],
    }, feedRegistry(), { clock }));
    const job = flow.execute("feed", { entryParams: steps([100, "draft"]) });
    await clock.advance(0);
    await flow.answer(job, "ask", "answer", { approved: "maybe" }); // kept: nothing waits yet
    await clock.advance(100);
    expect(job.status).toBe("paused");
    // The early answer did not fit the question's schema: it was dropped, and the job waits.
    expect(job.getRoutineState("ask")).toMatchObject({ humanInput: { request: { value: "draft" } } });
    expect(job.executionHistory.find((r) => r.eventName === "answer_refused")?.data.error).toMatch(/'approved'.*boolean/);
    expect(job.waitingFor.map((w) => `${w.routineId}.${w.slotName}`)).toEqual(["ask.answer"]);
    await flow.answer(job, "ask", "answer", { approved: true });
    await clock.advance(0);
    expect(job.status).toBe("completed");
    expect(job.executionHistory.filter((r) => r.routineId === "ask" && "answer" in r.data).map((r) => r.data))
      .toEqual([{ answer: { approved: true }, request: { value: "draft" } }]);
  });

  it("waits per job: answering one job leaves another waiting", async () => {
    const flow = approval();
    const a = flow.execute("ask", { entryParams: { n: 1 } });
    const b = flow.execute("ask", { entryParams: { n: 2 } });
    await a.result();
    await b.result();
    await flow.answer(b, "ask", "answer", { approved: true });
    expect(await b.result()).toMatchObject({ status: "completed" });
    expect(a.status).toBe("paused");
    expect(a.getRoutineState("ask")).toMatchObject({ humanInput: { request: { n: 1 } } });
  });

  it("is answered on a rebuilt flow from the job's document", async () => {
    const job = approval().execute("ask", { entryParams: { draft: "x" } });
    await job.result();
    const copy = JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
    const rebuilt = approval();
    await rebuilt.answer(copy, "ask", "answer", { approved: true });
    expect(await copy.result()).toMatchObject({ status: "completed" });
    expect(answeredOf(copy)).toEqual([{ answer: { approved: true }, request: { draft: "x" } }]);
  });

  it("is answered by job id through a store, from another flow", async () => {
    const store = trackStore(new MemoryJobStore());
    const first = approval({ store });
    const job = await first.start("ask", { entryParams: { draft: "y" } });
    expect(await job.result()).toMatchObject({ status: "paused" });
    await first.shutdown();
    const second = approval({ store });
    await second.answer(job.jobId, "ask", "answer", { approved: true });
    await expect.poll(async () => (await store.loadJob(job.jobId))?.status).toBe("completed");
    const done = (await store.loadJob(job.jobId))!;
    expect(done.executionHistory.filter((r) => r.routineId === "done").map((r) => r.data)).toEqual([{ answer: { approved: true }, request: { draft: "y" } }]);
  });

  it("refuses a schema it cannot check answers with, and a prompt that is not text", () => {
    const error = thrownBy(() => new HumanInput().setConfig({ schema: { type: "nonsense" } }));
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect(error.message).toBe("The `schema` of HumanInput is not a JSON Schema it can check answers with: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf");
    expect(() => new HumanInput().setConfig({ schema: { $ref: "https://example.com/s.json" } })).toThrow(/can't resolve reference https:\/\/example.com\/s.json/);
    expect(() => new HumanInput().setConfig({ prompt: 5 })).toThrow("Expected `prompt` of HumanInput to be a string, got `5` (number)");
  });
});
