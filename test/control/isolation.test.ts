import { describe, expect, it } from "vitest";
import { Flow, JobState } from "../../src/index.js";
import { gate, routine, signal, trace } from "../fixtures/testing.js";

/** A chain src -> m1 -> m2 -> end; every handler logs its job's tag. */
function chain(options: ConstructorParameters<typeof Flow>[0] = {}, hold?: (tag: string, routineId: string) => Promise<void> | undefined) {
  const flow = new Flow({ flowId: "siblings", ...options });
  const ids = ["src", "m1", "m2", "end"];
  ids.forEach((id, i) => {
    const slot = i === 0 ? "trigger" : "in";
    flow.addRoutine(routine({
      [slot]: async (data, ctx, self) => {
        const tag = String(data.tag);
        ctx.jobState.appendToSharedLog(`${tag}:${id}`);
        const wait = hold?.(tag, id);
        if (wait !== undefined) await wait;
        if (i < ids.length - 1) self.emit("out", { tag });
      },
    }, ["out"]), id);
    if (i > 0) flow.connect(ids[i - 1]!, "out", id, "in");
  });
  return flow;
}

describe("pause and cancel act on one job only", () => {
  it("pausing a job leaves its sibling of the same flow running to completion", async () => {
    const flow = chain();
    const one = flow.execute("src", { entryParams: { tag: "one" } });
    const two = flow.execute("src", { entryParams: { tag: "two" } });
    await flow.pause(one, { reason: "only this one" });
    expect(await JobState.waitForCompletion(flow, two, { timeoutMs: 5000 })).toBe(true);
    expect(two.status).toBe("completed");
    expect(two.sharedLog).toEqual(["two:src", "two:m1", "two:m2", "two:end"]);
    expect(one.status).toBe("paused");
    expect(one.sharedLog).toEqual([]);
    expect(one.pendingTasks.map((t) => t.routineId)).toEqual(["src"]);

    flow.resume(one);
    expect(await JobState.waitForCompletion(flow, one, { timeoutMs: 5000 })).toBe(true);
    expect(one.sharedLog).toEqual(["one:src", "one:m1", "one:m2", "one:end"]);
    expect(trace(two.executionHistory).some((t) => t.endsWith("paused") || t.endsWith("resumed"))).toBe(false);
  });

  it("pausing a job mid-run does not wait for a sibling's running handler, and the sibling finishes", async () => {
    const releaseOne = gate();
    const releaseTwo = gate();
    const oneHeld = signal();
    const twoHeld = signal();
    const flow = chain({ executionStrategy: "concurrent", maxWorkers: 2 }, (tag, id) => {
      if (id !== "m1") return undefined;
      (tag === "one" ? oneHeld : twoHeld).resolve();
      return (tag === "one" ? releaseOne : releaseTwo).wait;
    });
    const one = flow.execute("src", { entryParams: { tag: "one" } });
    const two = flow.execute("src", { entryParams: { tag: "two" } });
    await Promise.all([oneHeld.promise, twoHeld.promise]);
    const pausing = flow.pause(one);
    releaseOne.open();
    // Resolves while "two" is still held: pause waits only for its own job's handlers.
    await pausing;
    expect(one.status).toBe("paused");
    expect(two.status).toBe("running");
    // "two:m1" is written by a handler still running: it takes effect when that handler succeeds.
    expect(two.sharedLog).toEqual(["two:src"]);
    releaseTwo.open();
    expect(await JobState.waitForCompletion(flow, two, { timeoutMs: 5000 })).toBe(true);
    expect(two.status).toBe("completed");
    expect(two.sharedLog).toEqual(["two:src", "two:m1", "two:m2", "two:end"]);
    expect(one.status).toBe("paused");
    expect(one.sharedLog).toEqual(["one:src", "one:m1"]);
    expect(one.pendingTasks.map((t) => t.routineId)).toEqual(["m2"]);
  });

  it("cancelling a job leaves its sibling running to completion", async () => {
    const release = gate();
    const oneHeld = signal();
    const flow = chain({}, (tag, id) => {
      if (tag === "one" && id === "m1") {
        oneHeld.resolve();
        return release.wait;
      }
      return undefined;
    });
    const one = flow.execute("src", { entryParams: { tag: "one" } });
    const two = flow.execute("src", { entryParams: { tag: "two" } });
    await oneHeld.promise;
    const cancelling = flow.cancel(one, { reason: "just one" });
    release.open();
    await cancelling;
    expect(await JobState.waitForCompletion(flow, two, { timeoutMs: 5000 })).toBe(true);
    expect(two.status).toBe("completed");
    expect(two.sharedLog).toEqual(["two:src", "two:m1", "two:m2", "two:end"]);
    expect(one.status).toBe("cancelled");
    // The handler running at the cancel finished after it: what it wrote is discarded.
    expect(one.sharedLog).toEqual(["one:src"]);
    expect(trace(two.executionHistory).some((t) => t.endsWith("cancelled"))).toBe(false);
  });

  it("resuming one job does not touch a paused sibling", async () => {
    const flow = chain();
    const one = flow.execute("src", { entryParams: { tag: "one" } });
    const two = flow.execute("src", { entryParams: { tag: "two" } });
    // Both paused before any of their handlers ran (execute runs no user code synchronously).
    await Promise.all([flow.pause(one), flow.pause(two)]);
    flow.resume(one);
    expect(await JobState.waitForCompletion(flow, one, { timeoutMs: 5000 })).toBe(true);
    expect(one.status).toBe("completed");
    expect(two.status).toBe("paused");
    expect(two.sharedLog).toEqual([]);
  });
});
