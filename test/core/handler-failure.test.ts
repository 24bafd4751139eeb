// A throwing handler under the default STOP policy fails its routine and its job; waiting for a
// job resolves true when it ends and false when it does not end in time.
import { describe, expect, it } from "vitest";
import { Flow, JobState } from "../../src/index.js";
import { routine, trace } from "../fixtures/testing.js";

/** entry -> worker (fails as told) -> after, plus entry -> other, queued behind worker. */
function failingFlow(fail: (data: Record<string, unknown>) => void | Promise<void>) {
  const ran: string[] = [];
  const flow = new Flow({ flowId: "fails" });
  flow.addRoutine(routine({
    trigger: (data, _ctx, self) => {
      ran.push("entry");
      self.emit("go", data);
    },
  }, ["go"]), "entry");
  flow.addRoutine(routine({
    input: async (data, _ctx, self) => {
      ran.push("worker");
      self.emit("next", { from: "worker" });
      await fail(data);
    },
  }, ["next"]), "worker");
  flow.addRoutine(routine({ input: () => void ran.push("other") }), "other");
  flow.addRoutine(routine({ input: () => void ran.push("after") }), "after");
  flow.connect("entry", "go", "worker", "input");
  flow.connect("entry", "go", "other", "input");
  flow.connect("worker", "next", "after", "input");
  return { flow, ran };
}

describe("a handler that throws (default STOP)", () => {
  it("marks the routine failed and the job failed, with an error record", async () => {
    const { flow } = failingFlow(() => {
      throw new TypeError("bad input");
    });
    const job = flow.execute("entry", { entryParams: { n: 1 } });

    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("failed");
    expect(job.getRoutineState("worker")).toMatchObject({ status: "failed", error: "bad input", errorType: "TypeError" });
    expect(job.getRoutineState("entry")?.status).toBe("completed");
    const errors = job.executionHistory.filter((r) => r.eventName === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.routineId).toBe("worker");
    expect(errors[0]!.data).toMatchObject({ slot: "input", error: "bad input", errorType: "TypeError", attempt: 1 });
  });

  it("ends the history with the job's failed record naming the routine", async () => {
    const { flow } = failingFlow(() => {
      throw new Error("boom");
    });
    const job = flow.execute("entry");
    await JobState.waitForCompletion(flow, job);

    const last = job.executionHistory.at(-1)!;
    expect([last.routineId, last.eventName]).toEqual(["fails", "failed"]);
    expect(last.data).toMatchObject({ routineId: "worker", error: "boom" });
    expect(job.executionHistory.filter((r) => r.eventName === "completed")).toHaveLength(0);
  });

  it("drops the job's queued tasks and discards the failed handler's emits", async () => {
    const { flow, ran } = failingFlow(() => {
      throw new Error("boom");
    });
    const job = flow.execute("entry");
    await JobState.waitForCompletion(flow, job);

    // `other` was queued behind `worker`; `after` was emitted by the failing handler.
    expect(ran).toEqual(["entry", "worker"]);
    expect(job.pendingTasks).toHaveLength(0);
    // A failed activation's emits are discarded, not shown as delivered; the error record counts them.
    expect(trace(job.getExecutionHistory("worker"))).toEqual(["worker -> error"]);
    expect(job.getExecutionHistory("worker")[0]!.data).toMatchObject({ discardedEmits: 1 });
    expect(job.getRoutineState("after")).toBeUndefined();
  });

  it("a rejected promise fails the job like a throw", async () => {
    const { flow } = failingFlow(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new RangeError("too far");
    });
    const job = flow.execute("entry");
    await JobState.waitForCompletion(flow, job);

    expect(job.status).toBe("failed");
    expect(job.getRoutineState("worker")).toMatchObject({ status: "failed", error: "too far", errorType: "RangeError" });
  });

  it("a thrown non-Error value is recorded with its type", async () => {
    const { flow } = failingFlow(() => {
      throw "plain string";
    });
    const job = flow.execute("entry");
    await JobState.waitForCompletion(flow, job);

    expect(job.status).toBe("failed");
    const error = job.executionHistory.find((r) => r.eventName === "error");
    expect(error?.data).toMatchObject({ error: "plain string", errorType: "string" });
  });

  it("an entry routine that throws fails the job the same way", async () => {
    const flow = new Flow({ flowId: "fails" });
    flow.addRoutine(routine({
      trigger: () => {
        throw new Error("entry broke");
      },
    }), "entry");
    const job = flow.execute("entry");

    expect(await JobState.waitForCompletion(flow, job)).toBe(true);
    expect(job.status).toBe("failed");
    expect(job.getRoutineState("entry")?.status).toBe("failed");
    expect(job.executionHistory.find((r) => r.eventName === "error")?.data).toMatchObject({
      slot: "trigger", error: "entry broke", errorType: "Error", attempt: 1,
    });
  });

  it("a failing job leaves a sibling job of the same flow running to completion", async () => {
    const flow = new Flow({ flowId: "fails", executionStrategy: "concurrent", maxWorkers: 2 });
    flow.addRoutine(routine({
      trigger: async (data) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (data.fail === true) throw new Error("only me");
      },
    }), "entry");
    const bad = flow.execute("entry", { entryParams: { fail: true } });
    const good = flow.execute("entry", { entryParams: { fail: false } });
    await Promise.all([JobState.waitForCompletion(flow, bad), JobState.waitForCompletion(flow, good)]);

    expect([bad.status, good.status]).toEqual(["failed", "completed"]);
    expect(good.executionHistory.some((r) => r.eventName === "error")).toBe(false);
  });
});

describe("waitForCompletion", () => {
  it("resolves true at once for a job that has already ended", async () => {
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: () => {} }), "entry");
    const job = flow.execute("entry");
    await JobState.waitForCompletion(flow, job);

    expect(job.status).toBe("completed");
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 1 })).toBe(true);
  });

  it("returns false when the job does not end within timeoutMs, and the job stays running", async () => {
    const flow = new Flow({ flowId: "stuck" });
    flow.addRoutine(routine({ trigger: () => new Promise<void>(() => {}) }), "entry");
    const job = flow.execute("entry");

    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 20 })).toBe(false);
    expect(job.status).toBe("running");
    expect(job.getRoutineState("entry")?.status).toBe("running");
  });

  it("several waiters on one job are all told when it ends", async () => {
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: () => new Promise<void>((resolve) => setTimeout(resolve, 2)) }), "entry");
    const job = flow.execute("entry");

    const results = await Promise.all([
      JobState.waitForCompletion(flow, job),
      JobState.waitForCompletion(flow, job, { timeoutMs: 5000 }),
      flow.waitForJob(job),
    ]);
    expect(results).toEqual([true, true, true]);
    expect(job.status).toBe("completed");
  });
});
