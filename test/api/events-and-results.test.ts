// Live events (flow.subscribe, flow.events) and job results (job.result, flow.start, flow.run).
import { describe, expect, it } from "vitest";
import {
  ErrorHandler,
  ErrorStrategy,
  Flow,
  SimulatedClock,
  TimeoutError,
  type FlowEvent,
} from "../../src/index.js";
import { gate, routine, sleep } from "../fixtures/testing.js";

function chain(flowId = "events"): Flow {
  const flow = new Flow({ flowId });
  flow.addRoutine(routine({ trigger: (data, ctx) => ctx.emit("next", { n: data.n }) }, ["next"]), "first");
  flow.addRoutine(routine({ input: (data, ctx) => ctx.sendOutput("result", { n: data.n }) }), "second");
  flow.connect("first", "next", "second", "input");
  return flow;
}

describe("live events", () => {
  it("a job's events come in order with a per-job seq: running first, then records, routine states and outputs, then its end", async () => {
    const flow = chain();
    const events: FlowEvent[] = [];
    const stop = flow.subscribe((event) => events.push(event));
    const job = flow.execute("first", { entryParams: { n: 1 } });
    await job.result();
    await sleep(0);
    stop();
    const mine = events.filter((e) => e.jobId === job.jobId);
    expect(mine[0]).toMatchObject({ type: "status", status: "running", seq: 1, flowId: "events" });
    expect(mine.map((e) => e.seq)).toEqual(mine.map((_, i) => i + 1));
    expect(mine.at(-1)).toMatchObject({ type: "status", status: "completed" });
    expect(mine.some((e) => e.type === "record" && e.record.eventName === "next")).toBe(true);
    expect(mine.some((e) => e.type === "routine" && e.routineId === "second" && e.state.status === "completed")).toBe(true);
    expect(mine.some((e) => e.type === "output" && e.output.outputType === "result")).toBe(true);
    for (const e of mine) expect(e.at).toBeInstanceOf(Date);
  });

  it("events({ jobId }) ends by itself after that job's final status; a pause does not end it", async () => {
    const flow = new Flow({ flowId: "iter" });
    const hold = gate();
    flow.addRoutine(routine({ trigger: async (_data, ctx) => {
      await hold.wait;
      await ctx.flow.pause(ctx.jobState, { reason: "half way" });
    } }), "only");
    const job = flow.execute("only");
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of flow.events({ jobId: job.jobId })) if (event.type === "status") seen.push(event.status);
    })();
    hold.open();
    await job.result();
    await sleep(5);
    // The first event of a job followed from its start is its status.
    expect(seen).toEqual(["running", "paused"]);
    flow.resume(job);
    await job.result();
    await reading;
    expect(seen).toEqual(["running", "paused", "running", "completed"]);
  });

  it("events({ jobId }) of a job that has ended here ends at once", async () => {
    const flow = chain("ended");
    const result = await flow.run("first", { entryParams: { n: 1 } });
    const got: FlowEvent[] = [];
    for await (const event of flow.events({ jobId: result.jobId })) got.push(event);
    expect(got).toEqual([]);
  });

  it("leaving the iterator early removes its abort listener from the signal", async () => {
    const flow = chain("leave");
    const controller = new AbortController();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      for (let i = 0; i < 30; i++) {
        const job = flow.execute("first", { entryParams: { n: i } });
        for await (const event of flow.events({ jobId: job.jobId, signal: controller.signal })) if (event.seq >= 1) break;
        await job.result();
      }
      await sleep(5);
      expect(warnings).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("an async listener that rejects is reported as a warning, never as an unhandled rejection", async () => {
    const flow = chain("async-listener");
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- users do pass async listeners; this is that case
      flow.subscribe(async () => {
        await Promise.resolve();
        throw new Error("listener broke");
      });
      expect((await flow.run("first", { entryParams: { n: 1 } })).status).toBe("completed");
      await sleep(5);
      expect(warnings.some((w) => w.includes("listener broke"))).toBe(true);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("aborting the iterator's signal makes it return, not throw", async () => {
    const flow = chain("abort");
    const controller = new AbortController();
    const got: FlowEvent[] = [];
    const reading = (async () => {
      for await (const event of flow.events({ signal: controller.signal })) got.push(event);
      return "returned";
    })();
    await flow.execute("first", { entryParams: { n: 1 } }).result();
    await sleep(0);
    controller.abort();
    expect(await reading).toBe("returned");
    expect(got.length).toBeGreaterThan(0);
  });

  it("a listener that throws never disturbs the engine or the other listeners", async () => {
    const flow = chain("throwing");
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on("warning", onWarning);
    let other = 0;
    flow.subscribe(() => {
      throw new Error("listener bug");
    });
    flow.subscribe(() => void other++);
    const result = await flow.run("first", { entryParams: { n: 2 } });
    await sleep(5);
    process.off("warning", onWarning);
    expect(result.status).toBe("completed");
    expect(other).toBeGreaterThan(3);
    expect(warnings.some((w) => w.includes("listener bug"))).toBe(true);
  });

  it("a listener may call back into the flow: it runs after the change, outside the engine", async () => {
    const flow = new Flow({ flowId: "reentrant" });
    let ran = 0;
    flow.addRoutine(routine({ trigger: () => void ran++ }), "only");
    const cancelling: Array<Promise<void>> = [];
    flow.subscribe((event) => {
      if (event.type === "status" && event.status === "running") cancelling.push(flow.cancel(job, { reason: "from a listener" }));
    });
    const job = flow.execute("only");
    expect(await job.result()).toMatchObject({ status: "cancelled", reason: "from a listener" });
    await Promise.all(cancelling);
    expect(ran).toBe(0);
  });
});

describe("results", () => {
  it("result() narrows on status: completed gives outputs and shared data, failed the routine, message and error type", async () => {
    const flow = new Flow({ flowId: "results" });
    flow.addRoutine(routine({ trigger: (data, ctx) => {
      if (data.fail === true) throw new TypeError("bad input");
      ctx.jobState.updateSharedData("ok", true);
      ctx.sendOutput("answer", { value: 42 });
    } }), "only");
    const ok = await flow.run("only");
    expect(ok.status).toBe("completed");
    if (ok.status === "completed") {
      expect(ok.sharedData).toEqual({ ok: true });
      expect(ok.outputs.map((o) => o.data)).toEqual([{ value: 42 }]);
    }
    const bad = await flow.run("only", { entryParams: { fail: true } });
    expect(bad).toMatchObject({ status: "failed", error: { routineId: "only", message: "bad input", errorType: "TypeError" } });
  });

  it("a cancelled job's result carries the reason; result() of a rested job resolves at once", async () => {
    const flow = new Flow({ flowId: "cancelled" });
    const hold = gate();
    flow.addRoutine(routine({ trigger: () => hold.wait }), "only");
    const job = flow.execute("only");
    await sleep(0);
    await flow.cancel(job, { reason: "not needed" });
    expect(await job.result()).toEqual({ status: "cancelled", jobId: job.jobId, reason: "not needed" });
    hold.open();
    expect(await job.result()).toEqual({ status: "cancelled", jobId: job.jobId, reason: "not needed" });
  });

  it("result({ timeoutMs }) rejects with a TimeoutError and leaves the job running", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "slow", clock });
    flow.addRoutine(routine({ trigger: () => new Promise<void>((resolve) => clock.setTimeout(resolve, 1000)) }), "only");
    const job = flow.execute("only");
    const waiting = job.result({ timeoutMs: 100 }).then(() => undefined, (e: unknown) => e);
    await clock.advance(150);
    expect(await waiting).toBeInstanceOf(TimeoutError);
    expect(job.status).toBe("running");
    await clock.advance(1000);
    expect(await job.result()).toMatchObject({ status: "completed" });
  });

  it("a job that ran out of retries fails with the last error's type; one that timed out, with TimeoutError", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "outcomes", clock });
    const flaky = routine({ trigger: () => {
      throw new RangeError("still failing");
    } });
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 1, retryDelayMs: 10 }));
    flow.addRoutine(flaky, "flaky");
    const job = flow.execute("flaky");
    await clock.advance(50);
    expect(await job.result()).toMatchObject({ status: "failed", error: { routineId: "flaky", errorType: "RangeError", message: "still failing" } });
  });
});
