// STOP: the routine and the job fail, the job's queued tasks and waiting retries are dropped and
// counted, and nothing the job had in flight is delivered afterwards.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, JobState, SimulatedClock } from "../../src/index.js";
import { routine, trace } from "../fixtures/testing.js";
import { TransientError, clockDelay, onlyRecord, recordsOf, runToRest, sink } from "./helpers.js";

describe("STOP drops the job's queued tasks", () => {
  it("routines queued behind the failure never run, and the failed record counts them", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, flowId: "stop-flow" });
    const ran: string[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      input: (_d, _c, self) => {
        ran.push("bad");
        self.emit("out");
        throw new Error("disk full");
      },
    }, ["out"]), "bad");
    flow.addRoutine(sink(ran, "b"), "b");
    flow.addRoutine(sink(ran, "c"), "c");
    flow.addRoutine(sink(ran, "downstream"), "downstream");
    flow.connect("src", "out", "bad", "input");
    flow.connect("src", "out", "b", "input");
    flow.connect("src", "out", "c", "input");
    flow.connect("bad", "out", "downstream", "input");
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("failed");
    expect(ran).toEqual(["bad"]);
    expect(job.getRoutineState("b")).toBeUndefined();
    expect(job.getRoutineState("c")).toBeUndefined();
    expect(job.getRoutineState("downstream")).toBeUndefined();
    expect(onlyRecord(job, "failed", "stop-flow").data).toMatchObject({ routineId: "bad", error: "disk full", droppedTasks: 2 });
    expect(job.pendingTasks).toEqual([]);
  });

  it("records the failing routine's error, then the job's end", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, flowId: "f" });
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      input: () => {
        throw new Error("no");
      },
    }), "bad");
    flow.addRoutine(routine({ input: () => {} }), "other");
    flow.connect("src", "out", "bad", "input");
    flow.connect("src", "out", "other", "input");
    const job = await runToRest(clock, flow.execute("src"));

    expect(trace(job.executionHistory)).toEqual(["src -> start", "src -> out", "bad -> error", "f -> failed"]);
  });

  it("a waiting retry of another routine is dropped and never runs", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, maxWorkers: 1 });
    const attempts: number[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    const flaky = routine({
      input: (_d, ctx) => {
        attempts.push(ctx.attempt);
        throw new TransientError("later");
      },
    });
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 100 }));
    flow.addRoutine(flaky, "flaky");
    flow.addRoutine(routine({
      input: () => {
        throw new Error("fatal");
      },
    }), "fatal");
    flow.connect("src", "out", "flaky", "input");
    flow.connect("src", "out", "fatal", "input");
    const job = flow.execute("src");
    await clock.advance(0);

    expect(job.status).toBe("failed");
    expect(onlyRecord(job, "failed").data).toMatchObject({ routineId: "fatal", droppedTasks: 1 });

    await clock.advance(10_000);
    expect(attempts).toEqual([1]);
    expect(recordsOf(job, "error", "flaky")).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a handler still running when the job stops finishes, but its emits are not delivered", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 2 });
    const ran: string[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      input: async (_d, _c, self) => {
        await clockDelay(clock, 100);
        ran.push("slow finished");
        self.emit("out");
      },
    }, ["out"]), "slow");
    flow.addRoutine(routine({
      input: () => {
        throw new Error("fast failure");
      },
    }), "fast");
    flow.addRoutine(sink(ran, "after slow"), "afterSlow");
    flow.connect("src", "out", "slow", "input");
    flow.connect("src", "out", "fast", "input");
    flow.connect("slow", "out", "afterSlow", "input");
    const job = flow.execute("src");
    await clock.advance(0);
    expect(job.status).toBe("failed");

    await clock.advance(100);
    expect(ran).toEqual(["slow finished"]);
    expect(job.status).toBe("failed");
    expect(recordsOf(job, "out", "slow")).toEqual([]);
    expect(job.getRoutineState("afterSlow")).toBeUndefined();
  });

  it("waitForCompletion resolves when a STOP ends the job", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    flow.addRoutine(routine({
      trigger: async () => {
        await clockDelay(clock, 20);
        throw new Error("late");
      },
    }), "late");
    const job = flow.execute("late");
    const done = JobState.waitForCompletion(flow, job);
    await clock.advance(20);

    await expect(done).resolves.toBe(true);
    expect(job.status).toBe("failed");
  });

  it("stopping one job leaves the flow's other jobs running", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 2 });
    flow.addRoutine(routine({
      trigger: async (data) => {
        await clockDelay(clock, Number(data.ms));
        if (data.fail === true) throw new Error("only this job");
      },
    }), "work");
    const failing = flow.execute("work", { entryParams: { ms: 10, fail: true } });
    const healthy = flow.execute("work", { entryParams: { ms: 30 } });
    await clock.advance(10);
    expect(failing.status).toBe("failed");
    expect(healthy.status).toBe("running");

    await clock.advance(20);
    expect(healthy.status).toBe("completed");
  });
});

describe("handlers that settle after their job was stopped", () => {
  /** src --out--> {fast, slow} on two workers: `fast` fails at once (STOP); `slow` settles 10 ms later. */
  function race(slowFails: boolean) {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 2 });
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      input: () => {
        throw new Error("fast failure");
      },
    }), "fast");
    flow.addRoutine(routine({
      input: async () => {
        await clockDelay(clock, 10);
        if (slowFails) throw new Error("slow failure");
      },
    }), "slow");
    flow.connect("src", "out", "slow", "input");
    flow.connect("src", "out", "fast", "input");
    return { clock, job: flow.execute("src") };
  }

  it("a failure after the job stopped is still recorded in the history", async () => {
    const { clock, job } = race(true);
    await clock.advance(100);

    expect(job.status).toBe("failed");
    expect(recordsOf(job, "error").map((r) => [r.routineId, r.data.error])).toEqual([
      ["fast", "fast failure"],
      ["slow", "slow failure"],
    ]);
  });

  it("no routine is left 'running' once the job has ended and its handlers have settled", async () => {
    for (const slowFails of [false, true]) {
      const { clock, job } = race(slowFails);
      await clock.advance(100);

      expect(job.status).toBe("failed");
      expect(job.getRoutineState("slow")?.status, `slow ${slowFails ? "failing" : "succeeding"}`).not.toBe("running");
    }
  });
});
