import { describe, expect, it } from "vitest";
import { ErrorHandler, Flow, JobState, JobStateError, SimulatedClock } from "../../src/index.js";
import { gate, rejectionOf, routine, signal, thrownBy, trace } from "../fixtures/testing.js";

/** src (blocks on a gate, then emits) -> a, b, c ; a -> d. One worker. */
function fanOut(flowId = "cancel") {
  const release = gate();
  const started = signal();
  const ran: string[] = [];
  const flow = new Flow({ flowId });
  flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out", { n: 1 }) }, ["out"]), "src");
  flow.addRoutine(routine({
    in: async (_d, _c, self) => {
      ran.push("a");
      started.resolve();
      await release.wait;
      self.emit("next", { from: "a" });
    },
  }, ["next"]), "a");
  for (const id of ["b", "c", "d"]) flow.addRoutine(routine({ in: () => void ran.push(id) }), id);
  flow.connect("src", "out", "a", "in");
  flow.connect("src", "out", "b", "in");
  flow.connect("src", "out", "c", "in");
  flow.connect("a", "next", "d", "in");
  return { flow, release, started, ran };
}

describe("cancel", () => {
  it("stops a running job: queued tasks never run, emits of a running handler are discarded, status 'cancelled'", async () => {
    const { flow, release, started, ran } = fanOut();
    const job = flow.execute("src");
    await started.promise;
    expect(job.pendingTasks.map((t) => t.routineId)).toEqual(["b", "c"]);
    const cancelling = flow.cancel(job, { reason: "no longer needed" });
    expect(job.status).toBe("cancelled");
    release.open();
    await cancelling;
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("cancelled");
    expect(ran).toEqual(["a"]);
    expect(job.pendingTasks).toEqual([]);
    expect(Object.keys(job.routineStates).sort()).toEqual(["a", "src"]);
    expect(trace(job.executionHistory)).not.toContain("a -> next");
    const record = job.executionHistory.find((r) => r.eventName === "cancelled");
    expect(record?.data).toEqual({ reason: "no longer needed", droppedTasks: 2 });
  });

  it("is idempotent: cancelling again changes nothing", async () => {
    const { flow, release, started } = fanOut();
    const job = flow.execute("src");
    await started.promise;
    const first = flow.cancel(job);
    release.open();
    await first;
    const before = job.serialize();
    await flow.cancel(job, { reason: "again" });
    await flow.cancel(job);
    expect(job.serialize()).toEqual(before);
    expect(trace(job.executionHistory).filter((t) => t.endsWith("-> cancelled"))).toHaveLength(1);
  });

  it("cancels a paused job, dropping its pending tasks; it can no longer be resumed", async () => {
    const { flow, release, started, ran } = fanOut();
    const job = flow.execute("src");
    await started.promise;
    const pausing = flow.pause(job);
    release.open();
    await pausing;
    expect(job.pendingTasks.map((t) => t.routineId)).toEqual(["b", "c", "d"]);
    await flow.cancel(job, { reason: "abandoned" });
    expect(job.status).toBe("cancelled");
    expect(job.pendingTasks).toEqual([]);
    expect(thrownBy(() => flow.resume(job)).message).toContain("it is cancelled");
    expect(ran).toEqual(["a"]);
  });

  it("from inside one of the job's own handlers: no deadlock, and the rest of the job never runs", async () => {
    const flow = new Flow({ flowId: "self-cancel" });
    const ran: string[] = [];
    let returned = false;
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      in: async (_d, ctx, self) => {
        ran.push("stopper");
        await ctx.flow.cancel(ctx.jobState, { reason: "stop here" });
        returned = true;
        self.emit("next");
      },
    }, ["next"]), "stopper");
    flow.addRoutine(routine({ in: () => void ran.push("sibling") }), "sibling");
    flow.addRoutine(routine({ in: () => void ran.push("after") }), "after");
    flow.connect("src", "out", "stopper", "in");
    flow.connect("src", "out", "sibling", "in");
    flow.connect("stopper", "next", "after", "in");
    const job = flow.execute("src");
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("cancelled");
    // cancel resolved its waiters at once; shutdown waits for the cancelling handler to return.
    await flow.shutdown();
    expect(returned).toBe(true);
    expect(ran).toEqual(["stopper"]);
  });

  it("a waiting retry never runs after cancel", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "cancel-retry", clock });
    let attempts = 0;
    const flaky = routine({
      trigger: () => {
        attempts++;
        throw new Error("always");
      },
    });
    flaky.setErrorHandler(new ErrorHandler({ strategy: "retry", maxRetries: 5, retryDelayMs: 100 }));
    flow.addRoutine(flaky, "flaky");
    const job = flow.execute("flaky");
    await clock.advance(0);
    expect(attempts).toBe(1);
    expect(job.pendingTasks.map((t) => t.attempt)).toEqual([2]);
    await flow.cancel(job);
    await clock.advance(10_000);
    expect(attempts).toBe(1);
    expect(job.status).toBe("cancelled");
    expect(clock.pendingTimers).toBe(0);
  });

  it("refuses a job that has already ended, naming its status", async () => {
    const flow = new Flow({ flowId: "ended" });
    flow.addRoutine(routine({ trigger: () => undefined }), "only");
    const job = flow.execute("only");
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    const error = await rejectionOf(flow.cancel(job));
    expect(error).toBeInstanceOf(JobStateError);
    expect(error.message).toContain("already completed");
  });
});
