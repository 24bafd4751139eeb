// Human input: a handler asks (ctx.waitForInput), the job pauses with waitingFor, flow.answer
// checks and delivers the answer as one activation and resumes the job, in this process or, through
// the store, from another; early answers are kept; several answers, any or all.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  Flow,
  JobState,
  JobStateError,
  MemoryJobStore,
  Routine,
  RoutiluxError,
  ValidationError,
  type HandlerContext,
  type JobStore,
  type Payload,
} from "../../src/index.js";
import { routine } from "../fixtures/testing.js";

/** draft -> review (asks for a decision) -> publish. */
function approvalFlow(store?: JobStore, flowId = "approval"): Flow {
  const flow = new Flow({ flowId, ...(store === undefined ? {} : { store }) });
  const review = new Routine();
  review.defineEvent("decided", ["approved", "by"]);
  review.defineSlot("trigger", (data: Payload, ctx: HandlerContext) => {
    ctx.jobState.updateSharedData("draft", `draft of ${String(data.topic)}`);
    ctx.waitForInput({
      slot: "decision",
      prompt: "Publish this draft?",
      schema: { type: "object", properties: { approved: { type: "boolean" }, by: { type: "string" } }, required: ["approved"] },
    });
  });
  review.defineSlot("decision", (data: Payload, ctx: HandlerContext) => {
    ctx.emit("decided", { approved: data.approved, by: data.by ?? "someone" });
  });
  flow.addRoutine(review, "review");
  flow.addRoutine(routine({
    input: (data, ctx) => ctx.jobState.appendToSharedLog(data.approved === true ? `published by ${String(data.by)}` : "dropped"),
  }), "publish");
  flow.connect("review", "decided", "publish", "input");
  return flow;
}

describe("waiting for a person", () => {
  it("the job pauses with what it waits for; answer delivers it as one activation and the job completes", async () => {
    const flow = approvalFlow();
    const job = flow.execute("review", { entryParams: { topic: "q3" } });
    const paused = await job.result();
    expect(paused.status).toBe("paused");
    if (paused.status !== "paused") throw new Error("unreachable");
    expect(paused.waitingFor).toEqual([{
      routineId: "review",
      slotName: "decision",
      prompt: "Publish this draft?",
      schema: { type: "object", properties: { approved: { type: "boolean" }, by: { type: "string" } }, required: ["approved"] },
    }]);
    expect(job.waitingFor).toHaveLength(1);
    await flow.answer(job, "review", "decision", { approved: true, by: "ada" });
    const done = await job.result();
    expect(done).toMatchObject({ status: "completed", sharedData: { draft: "draft of q3" } });
    expect(job.sharedLog).toEqual(["published by ada"]);
    expect(job.waitingFor).toEqual([]);
    const events = job.executionHistory.map((r) => `${r.routineId}:${r.eventName}`);
    expect(events).toEqual(expect.arrayContaining(["review:waiting", "review:paused", "review:answered", "approval:resumed", "review:decided"]));
  });

  it("an answer that does not fit the schema is refused with a ValidationError naming the field; the job keeps waiting", async () => {
    const flow = approvalFlow();
    const job = flow.execute("review", { entryParams: { topic: "q3" } });
    await job.result();
    const error = await flow.answer(job, "review", "decision", { approved: "yes" }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).path).toBe("approved");
    expect(String((error as Error).message)).toMatch(/review\.decision/);
    expect(job.status).toBe("paused");
    expect(job.waitingFor).toHaveLength(1);
  });

  it("an answer to a slot the job does not wait for is refused naming it and what it waits for; the job keeps waiting", async () => {
    const flow = approvalFlow();
    const job = flow.execute("review", { entryParams: { topic: "q3" } });
    await job.result();
    await expect(flow.answer(job, "review", "trigger", {})).rejects.toThrow(/does not wait for input on 'review\.trigger'; it waits for: review\.decision/);
    await expect(flow.answer(job, "nobody", "decision", {})).rejects.toThrow(/no routine 'nobody'/);
    await expect(flow.answer(job, "review", "decison", {})).rejects.toThrow(/Did you mean 'decision'\?/);
    expect(job.status).toBe("paused");
    await flow.answer(job, "review", "decision", { approved: false });
    expect(await job.result()).toMatchObject({ status: "completed" });
    await expect(flow.answer(job, "review", "decision", { approved: true })).rejects.toBeInstanceOf(JobStateError);
  });

  it("an answer that arrives before the question is kept and delivered when the handler asks; the job never pauses", async () => {
    const flow = new Flow({ flowId: "early" });
    let release!: () => void;
    const asked = new Promise<void>((resolve) => (release = resolve));
    const step = new Routine();
    step.defineSlot("trigger", async (_data: Payload, ctx: HandlerContext) => {
      await asked;
      ctx.waitForInput({ slot: "answer" });
    });
    step.defineSlot("answer", (data: Payload, ctx: HandlerContext) => ctx.jobState.updateSharedData("answer", data.value));
    flow.addRoutine(step, "step");
    const job = flow.execute("step");
    await new Promise((resolve) => setImmediate(resolve));
    await flow.answer(job, "step", "answer", { value: 42 });
    expect(job.status).toBe("running");
    release();
    expect(await job.result()).toMatchObject({ status: "completed", sharedData: { answer: 42 } });
    expect(job.pausePoints).toEqual([]);
    expect(job.executionHistory.map((r) => r.eventName)).toEqual(expect.arrayContaining(["answer_kept", "answered"]));
  });

  it("a job waits for all of several answers, and for any one of a group", async () => {
    const flow = new Flow({ flowId: "several" });
    const step = new Routine();
    step.defineSlot("trigger", (_data: Payload, ctx: HandlerContext) => {
      ctx.waitForInput({ slot: "legal" });
      ctx.waitForInput({ slot: "finance" });
      ctx.waitForInput({ slot: "byEmail", group: "contact" });
      ctx.waitForInput({ slot: "byPhone", group: "contact" });
    });
    for (const slot of ["legal", "finance", "byEmail", "byPhone"]) {
      step.defineSlot(slot, (_data: Payload, ctx: HandlerContext) => ctx.jobState.appendToSharedLog(slot));
    }
    flow.addRoutine(step, "step");
    const job = flow.execute("step");
    await job.result();
    expect(job.waitingFor.map((w) => w.slotName)).toEqual(["legal", "finance", "byEmail", "byPhone"]);
    await flow.answer(job, "step", "byPhone", {});
    expect(job.waitingFor.map((w) => w.slotName)).toEqual(["legal", "finance"]);
    expect(job.status).toBe("paused");
    await flow.answer(job, "step", "legal", {});
    expect(job.status).toBe("paused");
    await flow.answer(job, "step", "finance", {});
    expect(await job.result()).toMatchObject({ status: "completed" });
    expect(job.sharedLog).toEqual(["byPhone", "legal", "finance"]);
    await expect(flow.answer(job, "step", "byEmail", {})).rejects.toBeInstanceOf(JobStateError);
  });

  it("a slot's Standard Schema checks answers too; a zod schema given to waitForInput is shown as JSON Schema", async () => {
    const flow = new Flow({ flowId: "zod" });
    const step = new Routine();
    step.defineSlot("trigger", (_data: Payload, ctx: HandlerContext) => {
      ctx.waitForInput({ slot: "rating", schema: z.object({ stars: z.number().int().min(1).max(5) }) });
    });
    step.defineSlot("rating", (data: Payload, ctx: HandlerContext) => ctx.jobState.updateSharedData("stars", data.stars), {
      schema: z.object({ stars: z.number(), comment: z.string().optional() }),
    });
    flow.addRoutine(step, "step");
    const job = flow.execute("step");
    await job.result();
    expect(job.waitingFor[0]!.schema).toMatchObject({ type: "object", properties: { stars: { type: "integer", minimum: 1, maximum: 5 } } });
    await expect(flow.answer(job, "step", "rating", { stars: 9 })).rejects.toBeInstanceOf(ValidationError);
    await expect(flow.answer(job, "step", "rating", { stars: 4, comment: 7 })).rejects.toThrow(/comment/);
    await flow.answer(job, "step", "rating", { stars: 4 });
    expect(await job.result()).toMatchObject({ status: "completed", sharedData: { stars: 4 } });
  });

  it("a job waiting for input is answered by id from another process through the store, and completes there", async () => {
    const store = new MemoryJobStore();
    const asking = approvalFlow(store);
    const job = asking.execute("review", { entryParams: { topic: "q4" } });
    await job.result();
    await asking.shutdown();
    const answering = approvalFlow(store);
    await answering.answer(job.jobId, "review", "decision", { approved: true, by: "bob" });
    const stored = (await store.loadJob(job.jobId))!;
    expect(stored.status).toBe("completed");
    expect(stored.sharedLog).toEqual(["published by bob"]);
    await expect(answering.answer("no-such-job", "review", "decision", { approved: true })).rejects.toThrow(/No job 'no-such-job'/);
    await answering.shutdown();
    await store.close();
  });

  it("flow.heldJob(id) gives the JobState of a job this process took from the store, to await its result", async () => {
    const store = new MemoryJobStore();
    const asking = approvalFlow(store);
    const job = asking.execute("review", { entryParams: { topic: "q1" } });
    await job.result();
    // The asking flow holds the paused job: an answer by id from elsewhere is applied there.
    expect(asking.heldJob(job.jobId)).toBe(job);
    const second = asking.execute("review", { entryParams: { topic: "q2" } });
    await second.result();
    await asking.shutdown();
    expect(asking.heldJob(second.jobId)).toBeUndefined();
    const answering = approvalFlow(store);
    let taken: JobState | undefined;
    answering.subscribe((event) => (taken ??= answering.heldJob(event.jobId)), { jobId: second.jobId });
    await answering.answer(second.jobId, "review", "decision", { approved: false });
    expect(taken).toBeInstanceOf(JobState);
    expect(taken!.jobId).toBe(second.jobId);
    expect(await taken!.result()).toMatchObject({ status: "completed", jobId: second.jobId });
    expect(answering.heldJob(second.jobId)).toBeUndefined();
    expect(answering.heldJob("no-such-job")).toBeUndefined();
    await answering.shutdown();
    await store.close();
  });

  it("resume() of a job that waits for input is refused with a message saying to answer it", async () => {
    const flow = approvalFlow();
    const job = flow.execute("review", { entryParams: { topic: "x" } });
    await job.result();
    expect(() => flow.resume(job)).toThrow(/waits for input \(review\.decision\); answer it with flow\.answer/);
  });

  it("waitForInput names a slot the routine lacks in a clear error, which fails the handler", async () => {
    const flow = new Flow({ flowId: "bad-wait" });
    flow.addRoutine(routine({ trigger: (_data, ctx) => ctx.waitForInput({ slot: "nope" }) }), "step");
    const result = await flow.execute("step").result();
    expect(result).toMatchObject({ status: "failed", error: { routineId: "step", errorType: "RoutiluxError" } });
    if (result.status === "failed") expect(result.error.message).toMatch(/names slot "nope", which the routine lacks/);
    expect(RoutiluxError).toBeDefined();
  });

  it("a waiting job's state round-trips through a document and is answered on another flow", async () => {
    const flow = approvalFlow();
    const job = flow.execute("review", { entryParams: { topic: "doc" } });
    await job.result();
    const copy = JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
    expect(copy.waitingFor).toEqual(job.waitingFor);
    const other = approvalFlow();
    await other.answer(copy, "review", "decision", { approved: true, by: "cy" });
    expect(await copy.result()).toMatchObject({ status: "completed" });
    expect(copy.sharedLog).toEqual(["published by cy"]);
  });
});
