// RETRY: attempts, exhaustion, what is retryable, the backoff schedule on a simulated clock, and
// a waiting retry holding no worker.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, SimulatedClock, type ErrorHandlerOptions } from "../../src/index.js";
import { routine, trace } from "../fixtures/testing.js";
import { NetworkError, PermanentError, TransientError, clockDelay, onlyRecord, recordsOf, runToRest, sink } from "./helpers.js";

function retry(options: Omit<ErrorHandlerOptions, "strategy"> = {}): ErrorHandler {
  return new ErrorHandler({ strategy: ErrorStrategy.RETRY, ...options });
}

/**
 * flaky(trigger) --out--> after. `flaky` throws `makeError(attempt)` while `fails(attempt)`, and
 * otherwise emits `out`. Every call is noted in `calls` with the clock's time and the data seen.
 */
function flakyFlow(handler: ErrorHandler, fails: (attempt: number) => boolean, makeError: (attempt: number) => unknown = (a) => new TransientError(`attempt ${a} failed`)) {
  const clock = new SimulatedClock();
  const flow = new Flow({ clock });
  const calls: Array<{ attempt: number; at: number; data: Record<string, unknown> }> = [];
  const ran: string[] = [];
  const flaky = routine({
    trigger: (data, ctx, self) => {
      calls.push({ attempt: ctx.attempt, at: clock.now(), data });
      if (fails(ctx.attempt)) throw makeError(ctx.attempt);
      self.emit("out", { ok: true });
    },
  }, ["out"]);
  flaky.setErrorHandler(handler);
  flow.addRoutine(flaky, "flaky");
  flow.addRoutine(sink(ran, "after"), "after");
  flow.connect("flaky", "out", "after", "input");
  return { clock, flow, calls, ran, t0: clock.now() };
}

describe("a retry that succeeds", () => {
  it("history shows the error, the retry, then the success, and the job completes", async () => {
    const { clock, flow, ran } = flakyFlow(retry({ maxRetries: 3, retryDelayMs: 10 }), (a) => a === 1);
    const job = await runToRest(clock, flow.execute("flaky", { entryParams: { n: 7 } }));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("flaky")?.status).toBe("completed");
    expect(trace(job.executionHistory)).toEqual([
      "flaky -> start",
      "flaky -> error",
      "flaky -> retry",
      "flaky -> out",
      `${flow.flowId} -> completed`,
    ]);
    expect(onlyRecord(job, "error").data).toMatchObject({ slot: "trigger", error: "attempt 1 failed", errorType: "TransientError", attempt: 1 });
    expect(onlyRecord(job, "retry").data).toMatchObject({ slot: "trigger", attempt: 2, delayMs: 10 });
    expect(ran).toEqual(["after"]);
  });

  it("each attempt gets the same data and sees its attempt number", async () => {
    const { clock, flow, calls } = flakyFlow(retry({ maxRetries: 3, retryDelayMs: 10 }), (a) => a < 3);
    const job = await runToRest(clock, flow.execute("flaky", { entryParams: { n: 7 } }));

    expect(job.status).toBe("completed");
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(calls.map((c) => c.data)).toEqual([{ n: 7 }, { n: 7 }, { n: 7 }]);
  });

  it("a retried middle routine delivers its emits once: a failed attempt's emits are discarded", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const received: unknown[] = [];
    let calls = 0;
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out", { v: 1 }) }, ["out"]), "src");
    const middle = routine({
      input: (data, ctx, self) => {
        calls++;
        self.emit("out", { v: data.v, attempt: ctx.attempt });
        if (ctx.attempt < 3) throw new TransientError("not yet");
      },
    }, ["out"]);
    middle.setErrorHandler(retry({ maxRetries: 3, retryDelayMs: 10 }));
    flow.addRoutine(middle, "middle");
    flow.addRoutine(routine({ input: (data) => void received.push(data) }), "end");
    flow.connect("src", "out", "middle", "input");
    flow.connect("middle", "out", "end", "input");
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("completed");
    expect(calls).toBe(3);
    expect(received).toEqual([{ v: 1, attempt: 3 }]);
  });

  it("a retry of an append slot sees the merged data as before the failed attempt", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const seen: unknown[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out", { v: 1 }) }, ["out"]), "src");
    const r = routine({});
    r.defineSlot("input", (data, ctx) => {
      seen.push(data);
      if (ctx.attempt === 1) throw new TransientError("first");
    }, { mergeStrategy: "append" });
    r.setErrorHandler(retry({ maxRetries: 2, retryDelayMs: 5 }));
    flow.addRoutine(r, "collect");
    flow.connect("src", "out", "collect", "input");
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("completed");
    expect(seen).toEqual([{ v: [1] }, { v: [1] }]);
  });
});

describe("a retry that never succeeds", () => {
  it("fails the job after maxRetries + 1 attempts, with one error record per attempt", async () => {
    const { clock, flow, calls, ran } = flakyFlow(retry({ maxRetries: 3, retryDelayMs: 10 }), () => true);
    const job = await runToRest(clock, flow.execute("flaky"));

    expect(job.status).toBe("failed");
    expect(job.getRoutineState("flaky")?.status).toBe("failed");
    expect(calls).toHaveLength(4);
    expect(recordsOf(job, "error", "flaky").map((r) => r.data.attempt)).toEqual([1, 2, 3, 4]);
    expect(recordsOf(job, "retry", "flaky").map((r) => r.data.attempt)).toEqual([2, 3, 4]);
    expect(onlyRecord(job, "failed").data).toMatchObject({ routineId: "flaky", error: "attempt 4 failed" });
    expect(ran).toEqual([]);
  });

  it("with maxRetries 0 the first failure ends the job", async () => {
    const { clock, flow, calls } = flakyFlow(retry({ maxRetries: 0, retryDelayMs: 10 }), () => true);
    const job = flow.execute("flaky");
    await clock.advance(0);

    expect(job.status).toBe("failed");
    expect(calls).toHaveLength(1);
    expect(recordsOf(job, "retry")).toEqual([]);
  });

  it("attempts are counted per activation: a second job starts again at attempt 1", async () => {
    const { clock, flow, calls } = flakyFlow(retry({ maxRetries: 1, retryDelayMs: 10 }), () => true);
    const first = await runToRest(clock, flow.execute("flaky"));
    const second = await runToRest(clock, flow.execute("flaky"));

    expect([first.status, second.status]).toEqual(["failed", "failed"]);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 1, 2]);
  });
});

describe("what is retryable", () => {
  it("an error outside the retryable class list fails at once, without waiting", async () => {
    const handler = retry({ maxRetries: 3, retryDelayMs: 1000, retryable: [TransientError] });
    const { clock, flow, calls } = flakyFlow(handler, () => true, (a) => new PermanentError(`permanent ${a}`));
    const job = flow.execute("flaky");
    await clock.advance(0);

    expect(job.status).toBe("failed");
    expect(calls).toHaveLength(1);
    expect(onlyRecord(job, "error").data).toMatchObject({ error: "permanent 1", errorType: "PermanentError", attempt: 1 });
    expect(recordsOf(job, "retry")).toEqual([]);
  });

  it("an error of a listed class, or of its subclass, is retried", async () => {
    const handler = retry({ maxRetries: 3, retryDelayMs: 10, retryable: [TransientError] });
    const { clock, flow, calls } = flakyFlow(handler, (a) => a < 3, (a) => (a === 1 ? new TransientError("t") : new NetworkError("n")));
    const job = await runToRest(clock, flow.execute("flaky"));

    expect(job.status).toBe("completed");
    expect(calls).toHaveLength(3);
  });

  it("a retryable error followed by a non-retryable one stops at the non-retryable one", async () => {
    const handler = retry({ maxRetries: 5, retryDelayMs: 10, retryable: [TransientError] });
    const { clock, flow, calls } = flakyFlow(handler, () => true, (a) => (a === 1 ? new TransientError("t") : new PermanentError("p")));
    const job = await runToRest(clock, flow.execute("flaky"));

    expect(job.status).toBe("failed");
    expect(calls).toHaveLength(2);
    expect(recordsOf(job, "error").map((r) => r.data.errorType)).toEqual(["TransientError", "PermanentError"]);
  });

  it("a predicate that rejects the error fails at once", async () => {
    const handler = retry({ maxRetries: 3, retryDelayMs: 1000, retryable: (e) => e instanceof Error && e.message.startsWith("retry me") });
    const { clock, flow, calls } = flakyFlow(handler, () => true, () => new Error("fatal"));
    const job = flow.execute("flaky");
    await clock.advance(0);

    expect(job.status).toBe("failed");
    expect(calls).toHaveLength(1);
  });

  it("a predicate that accepts the error retries it", async () => {
    const handler = retry({ maxRetries: 3, retryDelayMs: 10, retryable: (e) => e instanceof Error && e.message.startsWith("retry me") });
    const { clock, flow, calls } = flakyFlow(handler, (a) => a === 1, () => new Error("retry me please"));
    const job = await runToRest(clock, flow.execute("flaky"));

    expect(job.status).toBe("completed");
    expect(calls).toHaveLength(2);
  });

  it("a predicate that throws counts as not retryable and the job still ends", async () => {
    const handler = retry({
      maxRetries: 3,
      retryDelayMs: 10,
      retryable: () => {
        throw new Error("bug in predicate");
      },
    });
    const { clock, flow, calls } = flakyFlow(handler, () => true);
    const job = flow.execute("flaky");
    await clock.advance(0);

    expect(job.status).toBe("failed");
    expect(calls).toHaveLength(1);
  });
});

describe("the backoff schedule on a simulated clock", () => {
  it("waits 100, 200 then 400 ms between attempts, not a millisecond less", async () => {
    const { clock, flow, calls, t0 } = flakyFlow(retry({ maxRetries: 3, retryDelayMs: 100, retryBackoff: 2 }), () => true);
    const job = flow.execute("flaky");
    await clock.advance(0);
    expect(calls).toHaveLength(1);

    await clock.advance(99);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);

    await clock.advance(199);
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls).toHaveLength(3);

    await clock.advance(399);
    expect(calls).toHaveLength(3);
    expect(job.status).toBe("running");
    await clock.advance(1);
    expect(calls).toHaveLength(4);

    expect(calls.map((c) => c.at - t0)).toEqual([0, 100, 300, 700]);
    expect(recordsOf(job, "retry").map((r) => r.data.delayMs)).toEqual([100, 200, 400]);
    expect(job.status).toBe("failed");
  });

  it("a backoff of 1 keeps the delay constant", async () => {
    const { clock, flow, calls, t0 } = flakyFlow(retry({ maxRetries: 3, retryDelayMs: 50, retryBackoff: 1 }), () => true);
    await runToRest(clock, flow.execute("flaky"));

    expect(calls.map((c) => c.at - t0)).toEqual([0, 50, 100, 150]);
  });

  it("a retry is recorded with the time it was scheduled, and runs at that time plus the delay", async () => {
    const { clock, flow, calls, t0 } = flakyFlow(retry({ maxRetries: 1, retryDelayMs: 250 }), (a) => a === 1);
    const job = await runToRest(clock, flow.execute("flaky"));

    expect(onlyRecord(job, "retry").timestamp.getTime()).toBe(t0);
    expect(calls[1]!.at).toBe(t0 + 250);
  });
});

/**
 * A one-worker flow on a simulated clock whose entry `flaky` fails its first attempt and is retried
 * `retryDelayMs` later. Every call is noted in `log` as `flaky#<attempt>@<ms since t0>`.
 */
function flakyOnceOnOneWorker(retryDelayMs: number, log: string[] = []) {
  const clock = new SimulatedClock();
  const flow = new Flow({ clock, maxWorkers: 1 });
  const t0 = clock.now();
  const flaky = routine({
    trigger: (_d, ctx) => {
      log.push(`flaky#${ctx.attempt}@${clock.now() - t0}`);
      if (ctx.attempt === 1) throw new TransientError("once");
    },
  });
  flaky.setErrorHandler(retry({ maxRetries: 1, retryDelayMs }));
  flow.addRoutine(flaky, "flaky");
  return { clock, flow, t0 };
}

describe("a waiting retry holds no worker", () => {
  it("on a one-worker flow, a second job runs to completion while the first job's retry waits", async () => {
    const log: string[] = [];
    const { clock, flow, t0 } = flakyOnceOnOneWorker(1000, log);
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "quick");
    flow.addRoutine(routine({ input: () => void log.push(`quickSink@${clock.now() - t0}`) }), "quickSink");
    flow.connect("quick", "out", "quickSink", "input");

    const waiting = flow.execute("flaky");
    const other = flow.execute("quick");
    await clock.advance(0);

    expect(waiting.status).toBe("running");
    expect(other.status).toBe("completed");
    expect(log).toEqual(["flaky#1@0", "quickSink@0"]);

    await clock.advance(1000);
    expect(waiting.status).toBe("completed");
    expect(log).toEqual(["flaky#1@0", "quickSink@0", "flaky#2@1000"]);
  });

  it("the same job's other tasks run while one of its routines waits to retry", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, maxWorkers: 1 });
    const ran: string[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    const flaky = routine({
      input: (_d, ctx) => {
        ran.push(`flaky#${ctx.attempt}`);
        if (ctx.attempt === 1) throw new TransientError("once");
      },
    });
    flaky.setErrorHandler(retry({ maxRetries: 1, retryDelayMs: 500 }));
    flow.addRoutine(flaky, "flaky");
    flow.addRoutine(sink(ran, "sibling"), "sibling");
    flow.connect("src", "out", "flaky", "input");
    flow.connect("src", "out", "sibling", "input");
    const job = flow.execute("src");
    await clock.advance(0);

    expect(ran).toEqual(["flaky#1", "sibling"]);
    expect(job.status).toBe("running");
    expect(job.pendingTasks).toHaveLength(1);
    expect(job.pendingTasks[0]).toMatchObject({ routineId: "flaky", slotName: "input", attempt: 2 });

    await clock.advance(500);
    expect(ran).toEqual(["flaky#1", "sibling", "flaky#2"]);
    expect(job.status).toBe("completed");
  });

  it("many jobs retrying at once on one worker all wait in parallel, not one after another", async () => {
    const { clock, flow } = flakyOnceOnOneWorker(100);
    const jobs = Array.from({ length: 5 }, () => flow.execute("flaky"));
    await clock.advance(0);
    await clock.advance(100);

    expect(jobs.map((j) => j.status)).toEqual(Array(5).fill("completed"));
  });

  it("a retry waiting behind a slow async handler of another job runs once the worker is free", async () => {
    const log: string[] = [];
    const { clock, flow, t0 } = flakyOnceOnOneWorker(10, log);
    flow.addRoutine(routine({
      trigger: async () => {
        await clockDelay(clock, 50);
        log.push(`slow done@${clock.now() - t0}`);
      },
    }), "slow");
    const a = flow.execute("flaky");
    const b = flow.execute("slow");
    await clock.advance(100);

    // The retry was due at 10 but the only worker was busy with `slow` until 50.
    expect(log).toEqual(["flaky#1@0", "slow done@50", "flaky#2@50"]);
    expect([a.status, b.status]).toEqual(["completed", "completed"]);
  });
});
