// The engine's async context says which activation code belongs to: under an instrumented
// Promise.prototype.then, for ctx.emit called from a callback another job (or no job) fires, and
// in output handlers (outside any handler).
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { CallbackOutputHandler, Flow, type JobState } from "../../src/index.js";
import { routine, signal, sleep } from "../fixtures/testing.js";
import { contextSeenBy, uncaughtDuring } from "./helpers.js";

describe("a watched native promise under an instrumented Promise.prototype.then", () => {
  it("every job still completes when then() callbacks are deferred through the instrumentation's own queue", async () => {
    // Regression of 5f22ae1 (passes on 5f22ae1^): the watcher of a handler's native promise finds
    // its activation with getStore() inside the then() callback instead of a closure. A wrapper of
    // Promise.prototype.then (as tracing agents install) that runs callbacks from its own queue
    // loses that context: settle() reads undefined (TypeError: reading 'run') or the activation
    // of whichever handler scheduled the queue's flush; the other jobs stay "running" for ever.
    const original = Promise.prototype.then;
    const queue: Array<() => void> = [];
    let flushing = false;
    const defer = (fn: unknown): unknown => typeof fn !== "function" ? fn : (value: unknown) => new Promise((resolve, reject) => {
      queue.push(() => {
        try {
          resolve((fn as (v: unknown) => unknown)(value));
        } catch (error) {
          reject(error);
        }
      });
      if (!flushing) {
        flushing = true;
        setImmediate(() => {
          flushing = false;
          for (const run of queue.splice(0)) run();
        });
      }
    });
    let jobs: JobState[] = [];
    const uncaught = await uncaughtDuring(async () => {
      Promise.prototype.then = function (this: Promise<unknown>, onFulfilled?: unknown, onRejected?: unknown) {
        return original.call(this, defer(onFulfilled) as never, defer(onRejected) as never);
      } as typeof Promise.prototype.then;
      try {
        const flow = new Flow({ flowId: "instrumented", executionStrategy: "concurrent", maxWorkers: 4 });
        flow.addRoutine(routine({
          trigger: async (_data, ctx, self) => {
            await Promise.resolve();
            self.emit("out", { job: ctx.jobId });
          },
        }, ["out"]), "src");
        flow.addRoutine(routine({ input: () => undefined }), "sink");
        flow.connect("src", "out", "sink", "input");
        jobs = Array.from({ length: 6 }, () => flow.execute("src"));
        await sleep(100);
      } finally {
        Promise.prototype.then = original;
      }
    });
    expect(uncaught.map(String)).toEqual([]);
    expect(jobs.map((j) => j.status)).toEqual(Array.from({ length: 6 }, () => "completed"));
  });
});

describe("ctx.emit is the handler's own, wherever it is called from", () => {
  it("ctx.emit from a listener job A's handler put on a shared EventEmitter, fired by job B's handler, is recorded in A", async () => {
    // Expected: `ctx` is job A's handler context, so ctx.emit emits in A (as ctx.sendOutput does).
    // Seen: ctx.emit goes through the ambient async context and lands in job B's history and
    // queue, while ctx.sendOutput of the same listener goes to A.
    const bus = new EventEmitter();
    const flow = new Flow({ flowId: "bus", executionStrategy: "concurrent", maxWorkers: 3 });
    const listening = signal();
    flow.addRoutine(routine({
      trigger: async (data, ctx) => {
        if (data.role === "a") {
          const fired = signal();
          bus.once("tick", () => {
            ctx.emit("out", { from: "a" });
            ctx.sendOutput("note", { from: "a" });
            fired.resolve();
          });
          listening.resolve();
          await fired.promise;
          return;
        }
        await listening.promise;
        bus.emit("tick");
        await sleep(1);
      },
      input: () => undefined,
    }, ["out"]), "node");
    flow.connect("node", "out", "node", "input");
    const a = flow.execute("node", { entryParams: { role: "a" } });
    const b = flow.execute("node", { entryParams: { role: "b" } });
    await a.result();
    await b.result();
    expect(a.outputLog.map((o) => o.data)).toEqual([{ from: "a" }]);
    expect(a.executionHistory.filter((r) => r.eventName === "out").map((r) => r.data)).toEqual([{ from: "a" }]);
    expect(b.executionHistory.filter((r) => r.eventName === "out")).toEqual([]);
  });

  it("ctx.emit from a callback fired outside any job while the handler still runs emits in the handler's job", async () => {
    // Expected: like ctx.sendOutput, which works there. Seen: RoutiluxError "outside a job".
    const bus = new EventEmitter();
    const flow = new Flow({ flowId: "bus-main" });
    const listening = signal();
    const outcome: string[] = [];
    flow.addRoutine(routine({
      trigger: async (_data, ctx) => {
        const fired = signal();
        bus.once("tick", () => {
          try {
            ctx.emit("out", { late: false });
            outcome.push("emitted");
          } catch (error) {
            outcome.push(String(error));
          }
          fired.resolve();
        });
        listening.resolve();
        await fired.promise;
      },
    }, ["out"]), "node");
    const job = flow.execute("node");
    await listening.promise;
    bus.emit("tick");
    await job.result();
    expect(outcome).toEqual(["emitted"]);
    expect(job.executionHistory.filter((r) => r.eventName === "out").map((r) => r.data)).toEqual([{ late: false }]);
  });
});

describe("output handlers run outside any handler", () => {
  it.each([["synchronous", false], ["asynchronous", true]] as const)(
    "(%s handler) routine.emit there throws 'outside a job', and job.updateSharedData there applies directly",
    async (_label, asynchronous) => {
      // An output handler is outside any handler, like a listener: routine.emit there is refused, and
      // updateSharedData applies to the job at once (not with the activation, which then fails).
      const flow = new Flow({ flowId: "outputs" });
      const step = routine({
        trigger: asynchronous
          ? async (_data, ctx) => {
            await Promise.resolve();
            ctx.sendOutput("progress", { n: 1 });
            throw new Error("step fails after its output");
          }
          : (_data, ctx) => {
            ctx.sendOutput("progress", { n: 1 });
            throw new Error("step fails after its output");
          },
      }, ["probe"]);
      step.setAsOptional("continue");
      flow.addRoutine(step, "step");
      const seen: string[] = [];
      const handler = new CallbackOutputHandler(() => {
        seen.push(contextSeenBy(step));
        job.updateSharedData("seenProgress", true);
      });
      const job = flow.execute("step", { outputHandler: handler });
      await job.result();
      expect(seen).toEqual(["outside"]);
      expect(job.getSharedData("seenProgress")).toBe(true);
    },
  );
});
