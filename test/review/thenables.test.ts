// A handler may return a thenable that is not a well-behaved native promise: the engine treats it
// as `await` would: a `then` that throws fails the activation, only the first call of its
// callbacks counts, and `then` runs in the activation's context.
import { describe, expect, it } from "vitest";
import { Flow, JobState } from "../../src/index.js";
import { routine, sleep } from "../fixtures/testing.js";
import { uncaughtDuring } from "./helpers.js";

const throwingThenables: Array<[string, () => unknown]> = [
  ["a thenable whose then() throws", () => ({ then(): never { throw new Error("then() failed"); } })],
  ["an object whose then getter throws", () => ({ get then(): never { throw new Error("then getter failed"); } })],
  ["a proxy whose get trap throws", () => new Proxy({}, { get(): never { throw new Error("get trap failed"); } })],
];

describe("a handler returning a thenable that throws when it is watched", () => {
  it.each(throwingThenables)("%s fails its activation with that error; the job ends and the flow serves the next job", async (_label, make) => {
    // Expected: as `await value` would, the throw is the handler's failure (STOP: job failed),
    // and the worker is free for the next job. Seen: an uncaught exception from the scheduler's
    // microtask, the job "running" for ever, and the sequential flow's only worker never freed.
    const flow = new Flow({ flowId: "throwing-thenable" });
    flow.addRoutine(routine({ trigger: (data) => (data.odd === true ? make() : undefined) as void }), "step");
    let odd!: JobState;
    let next!: JobState;
    let oddRested = false;
    let nextRested = false;
    const uncaught = await uncaughtDuring(async () => {
      odd = flow.execute("step", { entryParams: { odd: true } });
      oddRested = await JobState.waitForCompletion(flow, odd, { timeoutMs: 300 });
      next = flow.execute("step", { entryParams: { odd: false } });
      nextRested = await JobState.waitForCompletion(flow, next, { timeoutMs: 300 });
    });
    expect(uncaught.map(String)).toEqual([]);
    expect(oddRested).toBe(true);
    expect(odd.status).toBe("failed");
    expect(nextRested).toBe(true);
    expect(next.status).toBe("completed");
  });
});

describe("a handler returning a thenable that calls its callbacks more than once", () => {
  const misbehaviours = {
    "fulfils twice": (ok: () => void) => {
      ok();
      ok();
    },
    "fulfils, then rejects": (ok: () => void, ko: (error: unknown) => void) => {
      ok();
      ko(new Error("late rejection"));
    },
    "rejects, then fulfils": (ok: () => void, ko: (error: unknown) => void) => {
      ko(new Error("first rejection"));
      ok();
    },
  } as const;

  it.each(Object.keys(misbehaviours) as Array<keyof typeof misbehaviours>)(
    "%s: only the first call counts, and maxWorkers holds for the flow's later jobs",
    async (kind) => {
      // Expected (as with `await`): the first settle wins; the emit is delivered once (or, for
      // "rejects, then fulfils", the job fails once); the worker count stays right.
      // Seen: the activation settles twice: the emit is recorded and delivered twice, a handler
      // that succeeded fails its job, and the flow's running count drops by one for good, so a
      // later job runs 3 handlers at once under maxWorkers 2.
      const flow = new Flow({ flowId: "twice", executionStrategy: "concurrent", maxWorkers: 2 });
      let delivered = 0;
      let running = 0;
      let most = 0;
      flow.addRoutine(routine({
        trigger: (_data, _ctx, self) => {
          self.emit("out", {});
          return { then: misbehaviours[kind] } as unknown as Promise<void>;
        },
      }, ["out"]), "src");
      flow.addRoutine(routine({ input: () => void delivered++ }), "sink");
      flow.addRoutine(routine({ trigger: (_data, _ctx, self) => { for (let i = 0; i < 10; i++) self.emit("item", { i }); } }, ["item"]), "fan");
      flow.addRoutine(routine({
        input: async () => {
          most = Math.max(most, ++running);
          await sleep(2);
          running--;
        },
      }), "work");
      flow.connect("src", "out", "sink", "input");
      flow.connect("fan", "item", "work", "input");

      const job = flow.execute("src");
      await job.result();
      await flow.execute("fan").result();

      const outs = job.executionHistory.filter((r) => r.eventName === "out").length;
      if (kind === "rejects, then fulfils") {
        expect(job.status).toBe("failed");
        expect(delivered).toBe(0);
      } else {
        expect(job.status).toBe("completed");
        expect(outs).toBe(1);
        expect(delivered).toBe(1);
      }
      expect(most).toBeLessThanOrEqual(2);
    },
  );
});

describe("a handler returning a lazy thenable (work starts when then() is called, as query builders do)", () => {
  it("then() runs in the activation's context, so an emit there belongs to the handler", async () => {
    // Expected: the engine calls then() inside the activation's async context (where `await`
    // in the handler would), so `this.emit` works and the context is this job's.
    // Seen: then() runs outside any job: the emit throws "outside a job" and the job fails.
    const flow = new Flow({ flowId: "lazy-thenable" });
    const seen: string[] = [];
    flow.addRoutine(routine({
      trigger: (_data, ctx, self) => ({
        then(ok: () => void, ko: (error: unknown) => void) {
          seen.push(self.getExecutionContext()?.jobState === ctx.jobState ? "own context" : "no context");
          try {
            self.emit("out", { lazy: true });
            ok();
          } catch (error) {
            ko(error);
          }
        },
      }) as unknown as Promise<void>,
    }, ["out"]), "query");
    const job = flow.execute("query");
    await job.result();
    expect(seen).toEqual(["own context"]);
    expect(job.status).toBe("completed");
    expect(job.executionHistory.filter((r) => r.eventName === "out").map((r) => r.data)).toEqual([{ lazy: true }]);
  });
});
