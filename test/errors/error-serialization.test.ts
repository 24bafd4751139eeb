// What the error policy writes into a job survives serialize -> JSON -> JobState.fromDocument:
// error texts and types, retry records, and a retry still waiting for its time.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, JobState, SimulatedClock } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";
import { TransientError, optionalFailuresFlow, recordsOf, runToRest } from "./helpers.js";

function roundTrip(job: JobState): JobState {
  return JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
}

class QuotaError extends Error {
  override name = "QuotaError";
}

describe("error records in a serialized job", () => {
  it("a failed job keeps its error text, type, attempt and status through a round trip", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, flowId: "ser" });
    const text = "quota exceeded for \"user 7\"\non line 2 — naïve ✓";
    flow.addRoutine(routine({
      trigger: () => {
        throw new QuotaError(text);
      },
    }), "r");
    const job = await runToRest(clock, flow.execute("r"));
    const restored = roundTrip(job);

    expect(restored.jobId).toBe(job.jobId);
    expect(restored.status).toBe("failed");
    expect(recordsOf(restored, "error", "r").map((r) => r.data)).toEqual([
      expect.objectContaining({ slot: "trigger", error: text, errorType: "QuotaError", attempt: 1 }),
    ]);
    expect(restored.getRoutineState("r")).toMatchObject({ status: "failed", error: text });
    expect(recordsOf(restored, "failed", "ser")[0]?.data).toMatchObject({ routineId: "r", error: text });
    expect(restored.executionHistory.map((r) => r.timestamp.getTime())).toEqual(job.executionHistory.map((r) => r.timestamp.getTime()));
  });

  it("retry records and an exhausted retry's error records survive", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const r = routine({
      trigger: (_d, ctx) => {
        throw new TransientError(`try ${ctx.attempt}`);
      },
    });
    r.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 10 }));
    flow.addRoutine(r, "r");
    const restored = roundTrip(await runToRest(clock, flow.execute("r")));

    expect(recordsOf(restored, "error", "r").map((x) => x.data.error)).toEqual(["try 1", "try 2", "try 3"]);
    expect(recordsOf(restored, "retry", "r").map((x) => [x.data.attempt, x.data.delayMs])).toEqual([[2, 10], [3, 20]]);
  });

  it("continued and skipped routines keep their status and error", async () => {
    const clock = new SimulatedClock();
    const flow = optionalFailuresFlow(clock, "optional part failed");
    const restored = roundTrip(await runToRest(clock, flow.execute("src")));

    expect(restored.status).toBe("completed");
    expect(restored.getRoutineState("continued")).toMatchObject({ status: "error_continued", error: "optional part failed" });
    expect(restored.getRoutineState("skipped")).toMatchObject({ status: "skipped", error: "optional part failed" });
  });

  it("a timeout record survives", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    flow.addRoutine(routine({ trigger: () => new Promise<void>(() => {}) }), "hang");
    const job = flow.execute("hang", { timeoutMs: 50 });
    await clock.advance(50);
    const restored = roundTrip(job);

    expect(restored.status).toBe("failed");
    expect(recordsOf(restored, "timeout").map((r) => [r.routineId, r.data.timeoutMs])).toEqual([["hang", 50]]);
  });
});

describe("a job's time limit in a serialized job", () => {
  it("the limit and the time already run survive, so a resumed job gets only what is left", async () => {
    const clock = new SimulatedClock();
    const build = (c: SimulatedClock): Flow => {
      const flow = new Flow({ clock: c, flowId: "limited" });
      flow.addRoutine(routine({
        trigger: async (_d, ctx, self) => {
          await new Promise<void>((resolve) => void c.setTimeout(resolve, 200));
          self.emit("out");
          await ctx.flow.pause(ctx.jobState);
        },
      }, ["out"]), "a");
      flow.addRoutine(routine({ input: () => new Promise<void>((resolve) => void c.setTimeout(resolve, 1000)) }), "b");
      flow.connect("a", "out", "b", "input");
      return flow;
    };
    const job = build(clock).execute("a", { timeoutMs: 500 });
    await clock.advance(200);
    expect(job.status).toBe("paused");
    const doc = JSON.parse(JSON.stringify(job.serialize())) as unknown;

    const later = new SimulatedClock(clock.now() + 60_000);
    const moved = JobState.fromDocument(doc);
    build(later).resume(moved);
    await later.advance(299);
    expect(moved.status).toBe("running");
    await later.advance(1);

    expect(moved.status).toBe("failed");
    expect(recordsOf(moved, "timeout").map((r) => r.routineId)).toEqual(["b"]);
  });
});

describe("a retry waiting for its time in a serialized job", () => {
  function waitingRetry(startMs?: number) {
    const clock = new SimulatedClock(startMs);
    const flow = new Flow({ clock, flowId: "retry-flow" });
    const attempts: number[] = [];
    const r = routine({
      trigger: (data, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new TransientError(`first try with ${String(data.item)}`);
      },
    });
    r.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 300 }));
    flow.addRoutine(r, "r");
    return { clock, flow, attempts, r };
  }

  it("is written as a pending task with its attempt, data and time", async () => {
    const { clock, flow } = waitingRetry();
    const t0 = clock.now();
    const job = flow.execute("r", { entryParams: { item: "a" } });
    await clock.advance(0);
    const restored = roundTrip(job);

    expect(restored.pendingTasks).toEqual([
      expect.objectContaining({ routineId: "r", slotName: "trigger", attempt: 2, data: { item: "a" }, notBefore: t0 + 300 }),
    ]);
    expect(recordsOf(restored, "error", "r")[0]?.data.error).toBe("first try with a");
  });

  it("runs at its time when the paused job is resumed from its document on another flow", async () => {
    // The retry is due 300 ms after the first attempt; the job moves 100 ms in.
    const first = waitingRetry();
    const job = first.flow.execute("r", { entryParams: { item: "b" } });
    await first.clock.advance(100);
    await first.flow.pause(job);
    const doc = JSON.parse(JSON.stringify(job.serialize())) as unknown;
    await first.clock.advance(10_000);
    expect(first.attempts).toEqual([1]);

    const second = waitingRetry(first.clock.now() - 10_000);
    const moved = JobState.fromDocument(doc);
    second.flow.resume(moved);
    await second.clock.advance(199);
    expect(second.attempts).toEqual([]);
    await second.clock.advance(1);

    expect(second.attempts).toEqual([2]);
    expect(moved.status).toBe("completed");
    expect(recordsOf(moved, "error", "r")).toHaveLength(1);
  });
});
