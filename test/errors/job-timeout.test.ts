// Job timeout on a simulated clock: `timeoutMs` per execute, `executionTimeoutMs` per flow. A job
// running longer is failed, its queue dropped, and a "timeout" record names what was running.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, FlowDefinitionError, JobState, SimulatedClock, systemClock, type FlowOptions } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";
import { TransientError, clockDelay, onlyRecord, recordsOf, sink } from "./helpers.js";

/**
 * src(trigger) --out--> slow(input) --out--> after. `slow` waits `slowMs` of simulated time, then
 * emits. Notes in `log` what ran and when (ms since the start).
 */
function slowFlow(options: Omit<FlowOptions, "clock"> = {}, slowMs = 1000) {
  const clock = new SimulatedClock();
  const t0 = clock.now();
  const flow = new Flow({ clock, flowId: "timed", ...options });
  const log: string[] = [];
  flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
  flow.addRoutine(routine({
    input: async (_d, _c, self) => {
      log.push(`slow started@${clock.now() - t0}`);
      await clockDelay(clock, slowMs);
      log.push(`slow finished@${clock.now() - t0}`);
      self.emit("out");
      self.sendOutput("late", { at: clock.now() - t0 });
    },
  }, ["out"]), "slow");
  flow.addRoutine(sink(log, "after"), "after");
  flow.connect("src", "out", "slow", "input");
  flow.connect("slow", "out", "after", "input");
  return { clock, flow, log, t0 };
}

describe("a job running longer than timeoutMs given to execute", () => {
  it("is failed exactly at its limit, and the timeout record names the running routine", async () => {
    const { clock, flow } = slowFlow();
    const job = flow.execute("src", { timeoutMs: 500 });
    await clock.advance(499);
    expect(job.status).toBe("running");

    await clock.advance(1);
    expect(job.status).toBe("failed");
    const timeout = onlyRecord(job, "timeout");
    expect(timeout.routineId).toBe("slow");
    expect(timeout.data).toMatchObject({ timeoutMs: 500 });
    expect(timeout.data.running).toEqual(["slow"]);
    expect(onlyRecord(job, "failed", "timed").data).toMatchObject({ routineId: "slow" });
    expect(String(onlyRecord(job, "failed", "timed").data.error)).toContain("500");
  });

  it("its later emits and outputs are discarded: downstream never runs", async () => {
    const { clock, flow, log } = slowFlow();
    const job = flow.execute("src", { timeoutMs: 500 });
    await clock.advance(500);
    expect(job.status).toBe("failed");

    await clock.advance(1000);
    expect(log).toEqual(["slow started@0", "slow finished@1000"]);
    expect(job.status).toBe("failed");
    expect(recordsOf(job, "out", "slow")).toEqual([]);
    expect(job.outputLog).toEqual([]);
    expect(job.getRoutineState("after")).toBeUndefined();
  });

  it("names every routine running at the time when several are", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 2 });
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({ input: () => clockDelay(clock, 1000) }), "left");
    flow.addRoutine(routine({ input: () => clockDelay(clock, 1000) }), "right");
    flow.connect("src", "out", "left", "input");
    flow.connect("src", "out", "right", "input");
    const job = flow.execute("src", { timeoutMs: 100 });
    await clock.advance(100);

    const timeout = onlyRecord(job, "timeout");
    expect(["left", "right"]).toContain(timeout.routineId);
    expect([...(timeout.data.running as string[])].sort()).toEqual(["left", "right"]);
  });

  it("drops the queued tasks and counts them", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, maxWorkers: 1 });
    const ran: string[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({ input: () => clockDelay(clock, 1000) }), "slow");
    flow.addRoutine(sink(ran, "queued"), "queued");
    flow.connect("src", "out", "slow", "input");
    flow.connect("src", "out", "queued", "input");
    const job = flow.execute("src", { timeoutMs: 100 });
    await clock.advance(100);

    expect(job.status).toBe("failed");
    expect(onlyRecord(job, "failed").data).toMatchObject({ droppedTasks: 1 });
    await clock.advance(2000);
    expect(ran).toEqual([]);
  });

  it("waitForCompletion resolves when the job times out", async () => {
    const { clock, flow } = slowFlow();
    const job = flow.execute("src", { timeoutMs: 300 });
    const rested = JobState.waitForCompletion(flow, job);
    await clock.advance(300);

    await expect(rested).resolves.toBe(true);
  });

  it("a job that finishes in time completes, and its limit passing later changes nothing", async () => {
    const { clock, flow, log } = slowFlow({}, 200);
    const job = flow.execute("src", { timeoutMs: 500 });
    await clock.advance(200);
    expect(job.status).toBe("completed");

    await clock.advance(1000);
    expect(job.status).toBe("completed");
    expect(recordsOf(job, "timeout")).toEqual([]);
    expect(log).toEqual(["slow started@0", "slow finished@200", "after"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a retry waiting past the limit is dropped and never runs", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const attempts: number[] = [];
    const flaky = routine({
      trigger: (_d, ctx) => {
        attempts.push(ctx.attempt);
        throw new TransientError("again");
      },
    });
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 1000 }));
    flow.addRoutine(flaky, "flaky");
    const job = flow.execute("flaky", { timeoutMs: 500 });
    await clock.advance(500);

    expect(job.status).toBe("failed");
    expect(onlyRecord(job, "timeout").routineId).toBe("flaky");
    expect(onlyRecord(job, "failed").data).toMatchObject({ droppedTasks: 1 });
    await clock.advance(5000);
    expect(attempts).toEqual([1]);
  });
});

describe("the flow's executionTimeoutMs", () => {
  it("fails a job of the flow that runs longer, naming the running routine", async () => {
    const { clock, flow } = slowFlow({ executionTimeoutMs: 500 });
    const job = flow.execute("src");
    await clock.advance(499);
    expect(job.status).toBe("running");

    await clock.advance(1);
    expect(job.status).toBe("failed");
    expect(onlyRecord(job, "timeout").routineId).toBe("slow");
  });

  it("is counted per job, from each job's own start", async () => {
    const { clock, flow } = slowFlow({ executionTimeoutMs: 500 });
    const first = flow.execute("src");
    await clock.advance(300);
    const second = flow.execute("src");
    await clock.advance(200);
    expect([first.status, second.status]).toEqual(["failed", "running"]);

    await clock.advance(299);
    expect(second.status).toBe("running");
    await clock.advance(1);
    expect(second.status).toBe("failed");
  });

  it("timeoutMs on execute overrides it, in either direction", async () => {
    const { clock, flow } = slowFlow({ executionTimeoutMs: 100 }, 300);
    const longer = flow.execute("src", { timeoutMs: 1000 });
    const { clock: clock2, flow: flow2 } = slowFlow({ executionTimeoutMs: 1000 }, 300);
    const shorter = flow2.execute("src", { timeoutMs: 100 });
    await clock.advance(300);
    await clock2.advance(100);

    expect(longer.status).toBe("completed");
    expect(shorter.status).toBe("failed");
    expect(onlyRecord(shorter, "timeout").data).toMatchObject({ timeoutMs: 100 });
  });

  it("a job on a flow without a limit runs as long as it needs", async () => {
    const { clock, flow } = slowFlow({}, 1_000_000);
    const job = flow.execute("src");
    await clock.advance(999_999);
    expect(job.status).toBe("running");
    await clock.advance(1);
    expect(job.status).toBe("completed");
  });

  it("a limit that is not above 0 is rejected, naming the option", () => {
    expect(() => new Flow({ executionTimeoutMs: 0 })).toThrow(FlowDefinitionError);
    expect(() => new Flow({ executionTimeoutMs: -5 })).toThrow(/executionTimeoutMs.*-5/);
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: () => {} }), "r");
    expect(() => flow.execute("r", { timeoutMs: -1 })).toThrow(/timeoutMs.*-1/);
    expect(() => flow.execute("r", { timeoutMs: Infinity })).toThrow(/timeoutMs.*finite.*Infinity/);
  });

  it("a limit past the longest Node timer (about 24.8 days) does not fire early on the real clock", async () => {
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: () => new Promise((resolve) => setTimeout(resolve, 30)) }), "r");
    const job = flow.execute("r", { timeoutMs: 30 * 24 * 3_600_000 });
    expect(await job.result()).toMatchObject({ status: "completed" });
    let fired = false;
    const handle = systemClock.setTimeout(() => (fired = true), 2 ** 31 + 10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).toBe(false);
    systemClock.clearTimeout(handle);
  });
});

describe("timeouts and pausing", () => {
  /** a(trigger) waits 200 ms, emits and pauses its own job; b then takes `bMs`. Limit: 500 ms. */
  function pausingFlow(bMs: number) {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    flow.addRoutine(routine({
      trigger: async (_d, ctx, self) => {
        await clockDelay(clock, 200);
        self.emit("out");
        await ctx.flow.pause(ctx.jobState, { reason: "wait for approval" });
      },
    }, ["out"]), "a");
    flow.addRoutine(routine({ input: () => clockDelay(clock, bMs) }), "b");
    flow.connect("a", "out", "b", "input");
    const job = flow.execute("a", { timeoutMs: 500 });
    return { clock, flow, job };
  }

  it("time spent paused does not count toward the limit", async () => {
    const { clock, flow, job } = pausingFlow(250);
    await clock.advance(200);
    expect(job.status).toBe("paused");

    await clock.advance(10_000);
    expect(job.status).toBe("paused");
    flow.resume(job);
    await clock.advance(250);

    expect(job.status).toBe("completed");
    expect(recordsOf(job, "timeout")).toEqual([]);
  });

  it("after a resume, only the time left of the limit remains", async () => {
    const { clock, flow, job } = pausingFlow(1000);
    await clock.advance(200);
    await clock.advance(10_000);
    flow.resume(job);

    await clock.advance(299);
    expect(job.status).toBe("running");
    await clock.advance(1);
    expect(job.status).toBe("failed");
    expect(onlyRecord(job, "timeout").routineId).toBe("b");
  });
});
