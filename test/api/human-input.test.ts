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

describe("answers that do not belong", () => {
  /** Asks "approve item N?" for items 1 and 2, one after the other; collects the answers. */
  function twoQuestions(): Flow {
    const flow = new Flow({ flowId: "two-questions" });
    const ask = new Routine();
    ask.defineSlot("trigger", (_data: Payload, ctx: HandlerContext) => {
      ctx.shared.set("round", 1);
      ctx.waitForInput({ slot: "reply", prompt: "approve item 1?" });
    });
    ask.defineSlot("reply", (data: Payload, ctx: HandlerContext) => {
      const round = ctx.shared.get<number>("round") ?? 1;
      ctx.shared.update<unknown[]>("answers", (list) => [...(list ?? []), { round, by: data.by }]);
      if (round === 1) {
        ctx.shared.set("round", 2);
        ctx.waitForInput({ slot: "reply", prompt: "approve item 2?" });
      }
    });
    flow.addRoutine(ask, "ask");
    return flow;
  }

  it("a second answer to a question already answered is refused, concurrently or later; it never answers the next question", async () => {
    const flow = twoQuestions();
    const job = flow.execute("ask");
    await job.result();
    const outcomes = await Promise.allSettled([
      flow.answer(job, "ask", "reply", { by: "alice" }),
      flow.answer(job, "ask", "reply", { by: "bob" }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected"]);
    const refusal = (outcomes[1] as PromiseRejectedResult).reason as Error;
    expect(refusal).toBeInstanceOf(JobStateError);
    expect(refusal.message).toMatch(/no longer waits for input on 'ask\.reply': it was answered already/);
    const second = await job.result();
    expect(second.status).toBe("paused");
    expect(job.waitingFor.map((w) => w.prompt)).toEqual(["approve item 2?"]);
    expect(job.sharedData.answers).toEqual([{ round: 1, by: "alice" }]);
    // The next question takes the next answer.
    await flow.answer(job, "ask", "reply", { by: "carol" });
    expect((await job.result()).status).toBe("completed");
    expect(job.sharedData.answers).toEqual([{ round: 1, by: "alice" }, { round: 2, by: "carol" }]);
  });

  it("an early answer is checked against the request's schema when the request comes: one that does not fit is dropped, and the job waits", async () => {
    const flow = new Flow({ flowId: "early-schema" });
    const gate = new Routine();
    gate.defineSlot("trigger", async (_data: Payload, ctx: HandlerContext) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      ctx.waitForInput({ slot: "ok", schema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] } });
    });
    gate.defineSlot("ok", (data: Payload, ctx: HandlerContext) => ctx.shared.set("got", data.ok));
    flow.addRoutine(gate, "gate");
    const job = flow.execute("gate");
    await flow.answer(job, "gate", "ok", { ok: "not-a-boolean" });
    const result = await job.result();
    expect(result.status).toBe("paused");
    expect(job.sharedData.got).toBeUndefined();
    const refused = job.executionHistory.find((r) => r.eventName === "answer_refused");
    expect(String(refused?.data.error)).toMatch(/'ok'/);
    await flow.answer(job, "gate", "ok", { ok: true });
    expect((await job.result()).status).toBe("completed");
    expect(job.sharedData.got).toBe(true);
  });

  it("a zod schema given to waitForInput is checked whole (refinements too), and one with a transform works in process", async () => {
    const flow = new Flow({ flowId: "zod-request" });
    const gate = new Routine();
    gate.defineSlot("trigger", (data: Payload, ctx: HandlerContext) => {
      const schema = data.transform === true
        ? z.object({ n: z.string().transform((v) => Number(v)) })
        : z.object({ n: z.number().refine((n) => n > 5, "must be more than 5") });
      ctx.waitForInput({ slot: "value", schema });
    });
    gate.defineSlot("value", (data: Payload, ctx: HandlerContext) => ctx.shared.set("n", data.n));
    flow.addRoutine(gate, "gate");
    const refined = flow.execute("gate");
    await refined.result();
    await expect(flow.answer(refined, "gate", "value", { n: 1 })).rejects.toThrow(/must be more than 5/);
    expect(refined.status).toBe("paused");
    await flow.answer(refined, "gate", "value", { n: 6 });
    expect((await refined.result()).status).toBe("completed");

    const transformed = flow.execute("gate", { entryParams: { transform: true } });
    expect((await transformed.result()).status).toBe("paused");
    await flow.answer(transformed, "gate", "value", { n: "7" });
    expect(await transformed.result()).toMatchObject({ status: "completed", sharedData: { n: 7 } });
  });

  it("a JSON Schema that cannot check anything fails the handler that asks, instead of leaving the job waiting for good", async () => {
    const flow = new Flow({ flowId: "bad-schema" });
    const gate = new Routine();
    gate.defineSlot("trigger", (_data: Payload, ctx: HandlerContext) => ctx.waitForInput({ slot: "reply", schema: { type: "bogus" } }));
    gate.defineSlot("reply", () => undefined);
    flow.addRoutine(gate, "gate");
    const result = await flow.execute("gate").result();
    expect(result.status).toBe("failed");
    if (result.status !== "failed") throw new Error("unreachable");
    expect(result.error.message).toMatch(/JSON Schema of waitForInput\('reply'\) in routine 'gate' cannot be used/);
  });

  it("a slot schema's output is what the handler gets: defaults and coercions applied, for entry params and answers", async () => {
    const flow = new Flow({ flowId: "schema-output" });
    const step = new Routine();
    const Input = z.object({ n: z.coerce.number(), tag: z.string().default("none") });
    step.defineSlot("trigger", (data: Payload, ctx: HandlerContext) => {
      ctx.shared.set("entry", { n: data.n, tag: data.tag });
      ctx.waitForInput({ slot: "more" });
    }, { schema: Input });
    step.defineSlot("more", (data: Payload, ctx: HandlerContext) => ctx.shared.set("answer", { n: data.n, tag: data.tag }), { schema: Input });
    flow.addRoutine(step, "step");
    const job = await flow.start("step", { entryParams: { n: "5" } });
    await job.result();
    await flow.answer(job, "step", "more", { n: "8", tag: "x" });
    expect(await job.result()).toMatchObject({ status: "completed", sharedData: { entry: { n: 5, tag: "none" }, answer: { n: 8, tag: "x" } } });
    const viaExecute = flow.execute("step", { entryParams: { n: "3" } });
    await viaExecute.result();
    expect(viaExecute.sharedData.entry).toEqual({ n: 3, tag: "none" });
  });
});

describe("data entering through a document", () => {
  it("a resumed job's pending task that does not fit its slot's schema is refused, naming it, and nothing changes", async () => {
    const build = (): Flow => {
      const flow = new Flow({ flowId: "doc-schema" });
      const step = new Routine();
      step.defineSlot("trigger", async (_data: Payload, ctx: HandlerContext) => {
        ctx.emit("next", { n: 1 });
        await ctx.flow.pause(ctx.jobState);
      });
      step.defineEvent("next", ["n"]);
      const sink = new Routine();
      sink.defineSlot("input", (data: Payload, ctx: HandlerContext) => ctx.shared.set("n", data.n), { schema: z.object({ n: z.number() }) });
      flow.addRoutine(step, "step");
      flow.addRoutine(sink, "sink");
      flow.connect("step", "next", "sink", "input");
      return flow;
    };
    const flow = build();
    const job = flow.execute("step");
    expect((await job.result()).status).toBe("paused");
    const doc = JSON.parse(JSON.stringify(job.serialize())) as { pendingTasks: Array<{ data: Record<string, unknown> }> };
    expect(doc.pendingTasks.length).toBeGreaterThan(0);
    for (const task of doc.pendingTasks) task.data = { n: "not a number" };
    const copy = JobState.fromDocument(doc);
    const other = build();
    expect(() => other.resume(copy)).toThrow(ValidationError);
    expect(() => other.resume(copy)).toThrow(/pending task of 'sink\.input'.*at 'n'/);
    expect(copy.status).toBe("paused");
  });
});

describe("JSON Schemas of requests", () => {
  it("are checked to the letter: `required` without `properties`, formats of numbers, nested paths", async () => {
    const flow = new Flow({ flowId: "json-schema" });
    const gate = new Routine();
    gate.defineSlot("trigger", (_data: Payload, ctx: HandlerContext) => ctx.waitForInput({
      slot: "reply",
      schema: { required: ["ok"], properties: { items: { type: "array", items: { type: "integer", minimum: 0 } } } },
    }));
    gate.defineSlot("reply", (data: Payload, ctx: HandlerContext) => ctx.shared.set("reply", data));
    flow.addRoutine(gate, "gate");
    const job = flow.execute("gate");
    await job.result();
    const missing = await flow.answer(job, "gate", "reply", { nope: 1 }).then(() => undefined, (e: unknown) => e);
    expect(missing).toBeInstanceOf(ValidationError);
    expect((missing as ValidationError).path).toBe("ok");
    const nested = await flow.answer(job, "gate", "reply", { ok: 1, items: [1, -2] }).then(() => undefined, (e: unknown) => e);
    expect((nested as ValidationError).path).toBe("items[1]");
    expect(job.status).toBe("paused");
    await flow.answer(job, "gate", "reply", { ok: 1, items: [1, 2] });
    expect((await job.result()).status).toBe("completed");
  });
});
