// flow.executionTracker: exact figures for known runs. Durations come from the flow's clock, so
// with a SimulatedClock and handlers that wait on it, every duration is exact.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, JobState, SimulatedClock } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";
import { TransientError, clockDelay, optionalFailuresFlow, runToRest } from "./helpers.js";

const zero = { activations: 0, succeeded: 0, failed: 0, retried: 0, totalMs: 0, avgMs: 0, minMs: 0, maxMs: 0 };

describe("routine performance", () => {
  it("sums activations and durations over all jobs of the flow", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 3 });
    flow.addRoutine(routine({ trigger: (data) => clockDelay(clock, Number(data.ms)) }), "work");
    const jobs = [10, 30, 20].map((ms) => flow.execute("work", { entryParams: { ms } }));
    await clock.advance(30);

    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed", "completed"]);
    expect(flow.executionTracker.getRoutinePerformance("work")).toEqual({
      activations: 3, succeeded: 3, failed: 0, retried: 0, totalMs: 60, avgMs: 20, minMs: 10, maxMs: 30,
    });
  });

  it("measures each activation from its start, not from when it was queued", async () => {
    // One worker: the second job waits 10 ms for the first, but its handler takes 5 ms.
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, maxWorkers: 1 });
    flow.addRoutine(routine({ trigger: (data) => clockDelay(clock, Number(data.ms)) }), "work");
    flow.execute("work", { entryParams: { ms: 10 } });
    flow.execute("work", { entryParams: { ms: 5 } });
    await clock.advance(15);

    expect(flow.executionTracker.getRoutinePerformance("work")).toMatchObject({ activations: 2, totalMs: 15, minMs: 5, maxMs: 10 });
  });

  it("times an activation that starts after the flow sat idle from its own start", async () => {
    // The first job ends at 10 ms; nothing runs until the second starts at 60 ms and takes 5 ms.
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    flow.addRoutine(routine({ trigger: (data) => clockDelay(clock, Number(data.ms)) }), "work");
    flow.execute("work", { entryParams: { ms: 10 } });
    await clock.advance(60);
    const second = flow.execute("work", { entryParams: { ms: 5 } });
    await clock.advance(5);

    expect(second.status).toBe("completed");
    expect(flow.executionTracker.getRoutinePerformance("work")).toMatchObject({ activations: 2, totalMs: 15, minMs: 5, maxMs: 10 });
    expect(second.getExecutionHistory().map((r) => r.timestamp.getTime() - clock.now())).toEqual([-5, 0]);
  });

  it("counts user code's time to the activation it runs in, and a retry policy's to none", async () => {
    // A clock that moves only when user code moves it: the output handler (run by sendOutput,
    // inside its activation) takes 50 ms; the RETRY policy's `retryable`, run after the failed
    // activation settled and before the other job's activation starts, takes 30 ms.
    let t = Date.UTC(2025, 0, 1);
    const clock = {
      now: () => t,
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    };
    const flow = new Flow({ clock });
    flow.addRoutine(routine({ trigger: (_d, ctx) => ctx.sendOutput("note", {}) }), "sender");
    const flaky = routine({ trigger: (_d, ctx) => {
      if (ctx.attempt === 1) throw new TransientError("first");
    } });
    const slowPolicy = (): boolean => (t += 30) > 0;
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 1, retryDelayMs: 1, retryable: slowPolicy }));
    flow.addRoutine(flaky, "flaky");
    flow.addRoutine(routine({ trigger: () => undefined }), "quick");
    const jobs = [
      flow.execute("sender", { outputHandler: { handle: () => { t += 50; } } }),
      flow.execute("flaky"),
      flow.execute("quick"),
    ];
    await Promise.all(jobs.map((job) => JobState.waitForCompletion(flow, job)));

    expect(jobs.map((job) => job.status)).toEqual(["completed", "completed", "completed"]);
    expect(flow.executionTracker.getRoutinePerformance("sender")).toMatchObject({ activations: 1, totalMs: 50 });
    expect(flow.executionTracker.getRoutinePerformance("flaky")).toMatchObject({ activations: 2, totalMs: 0 });
    expect(flow.executionTracker.getRoutinePerformance("quick")).toMatchObject({ activations: 1, totalMs: 0 });
  });

  it("counts failures and retries, times failed attempts, and leaves out the wait between them", async () => {
    // Attempt 1 runs 5 ms and fails, the retry waits 100 ms, attempt 2 runs 15 ms and succeeds.
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const flaky = routine({
      trigger: async (_d, ctx) => {
        await clockDelay(clock, ctx.attempt === 1 ? 5 : 15);
        if (ctx.attempt === 1) throw new TransientError("first");
      },
    });
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 100 }));
    flow.addRoutine(flaky, "flaky");
    const job = await runToRest(clock, flow.execute("flaky"));

    expect(job.status).toBe("completed");
    expect(flow.executionTracker.getRoutinePerformance("flaky")).toEqual({
      activations: 2, succeeded: 1, failed: 1, retried: 1, totalMs: 20, avgMs: 10, minMs: 5, maxMs: 15,
    });
  });

  it("an exhausted retry counts every attempt as failed and every retry as retried", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const r = routine({
      trigger: async () => {
        await clockDelay(clock, 4);
        throw new TransientError("never");
      },
    });
    r.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 10 }));
    flow.addRoutine(r, "r");
    flow.execute("r");
    flow.execute("r");
    await clock.advance(60_000);

    expect(flow.executionTracker.getRoutinePerformance("r")).toEqual({
      activations: 6, succeeded: 0, failed: 6, retried: 4, totalMs: 24, avgMs: 4, minMs: 4, maxMs: 4,
    });
  });

  it("counts CONTINUE and SKIP failures as failed activations", async () => {
    const clock = new SimulatedClock();
    const flow = optionalFailuresFlow(clock, "no");
    await runToRest(clock, flow.execute("src"));

    const tracker = flow.executionTracker;
    expect(tracker.getRoutinePerformance("src")).toMatchObject({ activations: 1, succeeded: 1, failed: 0 });
    expect(tracker.getRoutinePerformance("continued")).toMatchObject({ activations: 1, succeeded: 0, failed: 1, retried: 0 });
    expect(tracker.getRoutinePerformance("skipped")).toMatchObject({ activations: 1, succeeded: 0, failed: 1, retried: 0 });
  });

  it("a routine that never ran has all-zero figures", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    flow.addRoutine(routine({
      trigger: () => {
        throw new Error("stop here");
      },
    }, ["out"]), "first");
    flow.addRoutine(routine({ input: () => {} }), "never");
    flow.connect("first", "out", "never", "input");
    await runToRest(clock, flow.execute("first"));

    expect(flow.executionTracker.getRoutinePerformance("never")).toEqual(zero);
    expect(flow.executionTracker.getRoutinePerformance("no-such-routine")).toEqual(zero);
  });
});

describe("flow performance", () => {
  it("gives every routine's figures and the jobs by status", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 4 });
    flow.addRoutine(routine({
      trigger: async (data, _c, self) => {
        await clockDelay(clock, Number(data.ms));
        if (data.fail === true) throw new Error("failed job");
        self.emit("out");
      },
    }, ["out"]), "work");
    flow.addRoutine(routine({ input: () => clockDelay(clock, 1) }), "finish");
    flow.connect("work", "out", "finish", "input");
    flow.execute("work", { entryParams: { ms: 10 } });
    flow.execute("work", { entryParams: { ms: 20 } });
    flow.execute("work", { entryParams: { ms: 30, fail: true } });
    const slow = flow.execute("work", { entryParams: { ms: 1000 } });
    await clock.advance(100);

    expect(slow.status).toBe("running");
    const performance = flow.executionTracker.getFlowPerformance();
    expect(performance.routines).toEqual({
      work: { activations: 3, succeeded: 2, failed: 1, retried: 0, totalMs: 60, avgMs: 20, minMs: 10, maxMs: 30 },
      finish: { activations: 2, succeeded: 2, failed: 0, retried: 0, totalMs: 2, avgMs: 1, minMs: 1, maxMs: 1 },
    });
    expect(performance.jobs).toMatchObject({ completed: 2, failed: 1, running: 1, paused: 0, cancelled: 0, total: 4 });
  });

  it("moves a timed-out job from running to failed", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionTimeoutMs: 50 });
    flow.addRoutine(routine({ trigger: () => clockDelay(clock, 100) }), "slow");
    flow.execute("slow");
    await clock.advance(49);
    expect(flow.executionTracker.getFlowPerformance().jobs).toMatchObject({ running: 1, failed: 0, total: 1 });

    await clock.advance(1);
    expect(flow.executionTracker.getFlowPerformance().jobs).toMatchObject({ running: 0, failed: 1, completed: 0, total: 1 });
  });

  it("each flow has its own figures", async () => {
    const clock = new SimulatedClock();
    const a = new Flow({ clock });
    const b = new Flow({ clock });
    a.addRoutine(routine({ trigger: () => {} }), "r");
    b.addRoutine(routine({ trigger: () => {} }), "r");
    a.execute("r");
    a.execute("r");
    b.execute("r");
    await clock.advance(0);

    expect(a.executionTracker.getRoutinePerformance("r").activations).toBe(2);
    expect(b.executionTracker.getRoutinePerformance("r").activations).toBe(1);
    expect(b.executionTracker.getFlowPerformance().jobs.total).toBe(1);
  });
});
