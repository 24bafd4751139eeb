// The failures a demanding user found, one test each: control calls that deadlocked, async
// handlers that starved the event loop, a waiter told "rested" while the job ran, a failed merge
// that wiped another's, deserialize on a running job, retries that were not atomic, a detached
// emit dropped silently, and timers that kept ended jobs alive.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import {
  CancelledError,
  ErrorHandler,
  ErrorStrategy,
  Flow,
  JobState,
  JobStateError,
  MemoryJobStore,
  Routine,
  RoutiluxError,
  SimulatedClock,
  SqliteJobStore,
  TimeoutError,
  type HandlerContext,
} from "../../src/index.js";
import { gate, routine, signal, sleep, trace } from "../fixtures/testing.js";

describe("control calls never deadlock", () => {
  it("pause and cancel of one job from two of its own handlers both return; a sibling completes and shutdown resolves", async () => {
    const flow = new Flow({ flowId: "deadlock", executionStrategy: "concurrent", maxWorkers: 2 });
    const outcomes: string[] = [];
    const bothIn = { count: 0, ready: signal() };
    const arrive = async (): Promise<void> => {
      if (++bothIn.count === 2) bothIn.ready.resolve();
      await bothIn.ready.promise;
    };
    flow.addRoutine(routine({
      trigger(data, _ctx, self) {
        if (data.pair === true) self.emit("fork");
      },
    }, ["fork"]), "start");
    flow.addRoutine(routine({
      input: async (_data, ctx) => {
        await arrive();
        await ctx.flow.pause(ctx.jobState, { reason: "from a handler" });
        outcomes.push("pause returned");
      },
    }), "pauser");
    flow.addRoutine(routine({
      input: async (_data, ctx) => {
        await arrive();
        await ctx.flow.cancel(ctx.jobState, { reason: "from another handler" });
        outcomes.push("cancel returned");
      },
    }), "canceller");
    flow.connect("start", "fork", "pauser", "input");
    flow.connect("start", "fork", "canceller", "input");
    const job = flow.execute("start", { entryParams: { pair: true } });
    await bothIn.ready.promise;
    const sibling = flow.execute("start", { entryParams: { pair: false } });
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 2000 })).toBe(true);
    expect(await JobState.waitForCompletion(flow, sibling, { timeoutMs: 2000 })).toBe(true);
    await flow.shutdown();
    expect(outcomes.sort()).toEqual(["cancel returned", "pause returned"]);
    expect(job.status).toBe("cancelled");
    expect(sibling.status).toBe("completed");
  });

  it("two jobs whose handlers pause each other both rest, and the flow serves a third", async () => {
    const flow = new Flow({ flowId: "crossed", executionStrategy: "concurrent", maxWorkers: 2 });
    const jobs: JobState[] = [];
    const both = signal();
    let arrived = 0;
    flow.addRoutine(routine({
      trigger: async (data, ctx) => {
        if (data.cross !== true) return;
        if (++arrived === 2) both.resolve();
        await both.promise;
        const other = jobs.find((j) => j !== ctx.jobState)!;
        await ctx.flow.pause(other);
        await new Promise((resolve) => setImmediate(resolve));
      },
    }), "only");
    jobs.push(flow.execute("only", { entryParams: { cross: true } }), flow.execute("only", { entryParams: { cross: true } }));
    await both.promise;
    const third = flow.execute("only");
    for (const job of [...jobs, third]) expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 2000 })).toBe(true);
    expect(jobs.map((j) => j.status)).toEqual(["paused", "paused"]);
    expect(third.status).toBe("completed");
    await flow.shutdown();
  });

  it("cancel tells running handlers to stop through ctx.signal, with a CancelledError naming the job", async () => {
    const flow = new Flow({ flowId: "signals" });
    const started = signal();
    let reason: unknown;
    flow.addRoutine(routine({
      trigger: async (_data, ctx) => {
        started.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        reason = ctx.signal.reason;
      },
    }), "only");
    const job = flow.execute("only");
    await started.promise;
    await flow.cancel(job, { reason: "user asked" });
    await sleep(0);
    expect(reason).toBeInstanceOf(CancelledError);
    expect(String((reason as Error).message)).toContain(job.jobId);
    expect(String((reason as Error).message)).toContain("user asked");
  });
});

describe("control calls from a job's own handler, with a store", () => {
  type Call = "pause" | "resume" | "cancel" | "answer";
  // The combinations that once left the last call waiting for a commit its own handler held back.
  const sequences: ReadonlyArray<readonly Call[]> = [
    ["pause", "resume", "cancel"],
    ["pause", "resume", "answer"],
    ["pause", "answer", "resume"],
    ["answer", "pause", "resume"],
  ];
  const stores = {
    memory: () => ({ store: new MemoryJobStore(), dispose: () => undefined }),
    sqlite: () => {
      const folder = mkdtempSync(join(tmpdir(), "routilux-own-"));
      return { store: new SqliteJobStore({ path: join(folder, "jobs.db") }), dispose: () => rmSync(folder, { recursive: true, force: true }) };
    },
  };

  for (const [kind, open] of Object.entries(stores)) {
    for (const calls of sequences) for (const together of [false, true]) {
      const how = together ? "made at once" : "each awaited";
      it(`${kind}: after an answered wait, ${calls.join(", ")} (${how}) from a later handler all settle, and the job rests as stored`, async () => {
        const { store, dispose } = open();
        const flow = new Flow({ flowId: "own-calls", store });
        const outcomes: string[] = [];
        let lastRuns = 0;
        const laterGot: unknown[] = [];
        const handled = signal();
        flow.addRoutine(routine({
          trigger(_data, ctx, self) {
            ctx.waitForInput({ slot: "answer" });
            self.emit("next");
          },
          answer: () => undefined,
          async input(_data, ctx, self) {
            const make = (call: Call): Promise<unknown> => {
              try {
                if (call === "resume") return Promise.resolve(ctx.flow.resume(ctx.jobState));
                if (call === "pause") return ctx.flow.pause(ctx.jobState);
                if (call === "cancel") return ctx.flow.cancel(ctx.jobState);
                return ctx.flow.answer(ctx.jobState, "a", "later", { early: true });
              } catch (error) {
                return Promise.reject(error);
              }
            };
            const outcome = (call: Call, settled: PromiseSettledResult<unknown>): string =>
              `${call} ${settled.status === "fulfilled" ? "ok" : (settled.reason as Error).name}`;
            if (together) {
              const settled = await Promise.allSettled(calls.map(make));
              outcomes.push(...settled.map((one, i) => outcome(calls[i]!, one)));
            } else {
              for (const call of calls) outcomes.push(outcome(call, (await Promise.allSettled([make(call)]))[0]));
            }
            handled.resolve();
            self.emit("done");
          },
          last(_data, ctx) {
            lastRuns++;
            if (calls.includes("answer")) ctx.waitForInput({ slot: "later" });
          },
          later: (data) => {
            laterGot.push(data);
          },
        }, ["next", "done"]), "a");
        flow.connect("a", "next", "a", "input");
        flow.connect("a", "done", "a", "last");
        try {
          const job = await flow.start("a");
          await flow.waitForJob(job);
          expect(job.waitingFor.map((w) => w.slotName)).toEqual(["answer"]);
          await flow.answer(job, "a", "answer", {});
          const result = await Promise.race([job.result(), sleep(5000).then(() => undefined)]);
          expect(result?.status, `job.result() settles (calls so far: ${outcomes.join(", ")})`).toBe(job.status);
          await Promise.race([handled.promise, sleep(5000)]);
          expect(outcomes.map((o) => o.split(" ")[0])).toEqual(calls);
          expect(outcomes.filter((o) => !o.endsWith(" ok"))).toEqual([]);
          expect(job.status).toBe(calls.includes("cancel") ? "cancelled" : "completed");
          expect(lastRuns).toBe(calls.includes("cancel") ? 0 : 1);
          // The answer given early from the handler is delivered when "last" asks for it.
          expect(laterGot).toEqual(calls.includes("answer") ? [{ early: true }] : []);
          expect((await store.loadJob(job.jobId))?.status).toBe(job.status);
          expect(await Promise.race([flow.shutdown().then(() => "resolved"), sleep(5000).then(() => "pending")])).toBe("resolved");
        } finally {
          await flow.shutdown({ graceMs: 1 });
          await store.close();
          dispose();
        }
      });
    }
  }
});

describe("the scheduler yields to the event loop", () => {
  it("an async handler looping through the queue lets its 100 ms timeout fire, and unrelated timers too", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "loop", clock, executionTimeoutMs: 100 });
    let activations = 0;
    flow.addRoutine(routine({
      trigger: async (_data, ctx) => {
        ctx.emit("again");
      },
      input: async (_data, ctx) => {
        activations++;
        ctx.emit("again");
      },
    }, ["again"]), "spin");
    flow.connect("spin", "again", "spin", "input");
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const job = flow.execute("spin");
    // advance() waits for turns of the event loop: it returns only because the scheduler yields.
    await clock.advance(50);
    expect(job.status).toBe("running");
    await clock.advance(60);
    clearInterval(ticker);
    expect(job.status).toBe("failed");
    expect(await job.result()).toMatchObject({ status: "failed", error: { errorType: "TimeoutError" } });
    expect(ticks).toBeGreaterThan(0);
    expect(activations).toBeGreaterThan(100);
  });
});

describe("waiters see only statuses that hold", () => {
  it("pause with a handler in flight, resume at once, then wait: the waiter resolves when the job has really ended", async () => {
    const flow = new Flow({ flowId: "wait" });
    const hold = gate();
    const started = signal();
    flow.addRoutine(routine({
      trigger: async (_data, _ctx, self) => {
        started.resolve();
        await hold.wait;
        self.emit("next");
      },
      input: () => undefined,
    }, ["next"]), "only");
    flow.connect("only", "next", "only", "input");
    const job = flow.execute("only");
    await started.promise;
    const pausing = flow.pause(job);
    flow.resume(job);
    const seen: string[] = [];
    const waiting = JobState.waitForCompletion(flow, job).then((rested) => void seen.push(`${String(rested)}:${job.status}`));
    await sleep(10);
    expect(seen).toEqual([]);
    hold.open();
    await pausing;
    await waiting;
    expect(seen).toEqual(["true:completed"]);
  });
});

describe("merging slots undo only their own contribution", () => {
  it("an append activation that fails after a concurrent one succeeded leaves the other's value for the next", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "append", clock, executionStrategy: "concurrent", maxWorkers: 2 });
    flow.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    const failOne = gate();
    const seen: unknown[] = [];
    const source = new Routine();
    source.defineEvent("item", ["v"]);
    source.defineSlot("trigger", (_data, ctx: HandlerContext) => {
      ctx.emit("item", { v: 1 });
      ctx.emit("item", { v: 2 });
      ctx.deliverLater("more", {}, 50);
    });
    source.defineSlot("more", (_data, ctx: HandlerContext) => ctx.emit("item", { v: 3 }));
    flow.addRoutine(source, "source");
    flow.addRoutine(routine({
      input: {
        mergeStrategy: "append",
        handler: async (data) => {
          const values = data.v as number[];
          seen.push(values);
          if (values.at(-1) === 1) {
            await failOne.wait;
            throw new Error("v=1 fails after v=2 succeeded");
          }
        },
      },
    }), "sink");
    flow.connect("source", "item", "sink", "input");
    const job = flow.execute("source");
    await clock.advance(10);
    expect(seen).toEqual([[1], [1, 2]]);
    failOne.open();
    await clock.advance(100);
    expect(job.status).toBe("completed");
    expect(seen).toEqual([[1], [1, 2], [2, 3]]);
    expect(job.serialize().slotBuffers).toEqual([{ routineId: "sink", slotName: "input", data: { v: [2, 3] } }]);
  });
});

describe("deserialize", () => {
  it("is refused on a running job, naming it, and the job runs on unharmed", async () => {
    const flow = new Flow({ flowId: "deser" });
    const hold = gate();
    flow.addRoutine(routine({ trigger: () => hold.wait }), "only");
    const job = flow.execute("only");
    const other = new JobState("deser");
    await sleep(0);
    expect(() => job.deserialize(other.serialize())).toThrow(JobStateError);
    expect(() => job.deserialize(other.serialize())).toThrow(new RegExp(job.jobId));
    hold.open();
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 2000 })).toBe(true);
    expect(job.status).toBe("completed");
  });
});

describe("a retried activation is a unit of work", () => {
  it("the writes of failed attempts are discarded and their emits are not shown as delivered; error and retry records stay", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "atomic", clock });
    let attempts = 0;
    const reads: unknown[] = [];
    const flaky = routine({
      trigger(_data, ctx, self) {
        attempts++;
        ctx.jobState.updateSharedData("attempt", ctx.attempt);
        ctx.jobState.appendToSharedLog({ attempt: ctx.attempt });
        ctx.jobState.updateRoutineState("flaky", { status: "running", note: ctx.attempt });
        self.sendOutput("try", { attempt: ctx.attempt });
        self.emit("done", { attempt: ctx.attempt });
        reads.push(ctx.jobState.getSharedData("attempt"));
        if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
      },
    }, ["done"]);
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 10 }));
    const delivered: number[] = [];
    flow.addRoutine(flaky, "flaky");
    flow.addRoutine(routine({ input: (data) => void delivered.push(data.attempt as number) }), "sink");
    flow.connect("flaky", "done", "sink", "input");
    const job = flow.execute("flaky");
    await clock.advance(100);
    expect(job.status).toBe("completed");
    expect(attempts).toBe(3);
    expect(reads).toEqual([1, 2, 3]);
    expect(job.getSharedData("attempt")).toBe(3);
    expect(job.sharedLog).toEqual([{ attempt: 3 }]);
    expect(job.outputLog.map((o) => o.data)).toEqual([{ attempt: 3 }]);
    expect(job.getRoutineState("flaky")).toMatchObject({ note: 3, status: "completed" });
    expect(delivered).toEqual([3]);
    expect(trace(job.getExecutionHistory("flaky"))).toEqual(["flaky -> start", "flaky -> error", "flaky -> retry", "flaky -> error", "flaky -> retry", "flaky -> done"]);
  });
});

describe("emits outside a running job", () => {
  it("an emit from a detached callback after the job ended throws a RoutiluxError naming the job and that it ended", async () => {
    const flow = new Flow({ flowId: "detached" });
    const fired = signal<unknown>();
    flow.addRoutine(routine({
      trigger(_data, _ctx, self) {
        setTimeout(() => {
          try {
            self.emit("late");
            fired.resolve("no error");
          } catch (error) {
            fired.resolve(error);
          }
        }, 20);
      },
    }, ["late"]), "only");
    const job = flow.execute("only");
    await JobState.waitForCompletion(flow, job);
    const error = await fired.promise;
    expect(error).toBeInstanceOf(RoutiluxError);
    expect(String((error as Error).message)).toMatch(new RegExp(`job '${job.jobId}' has ended \\(completed\\)`));
  });

  it("an emit from a detached callback while the job still runs is recorded and delivered", async () => {
    const flow = new Flow({ flowId: "detached-live", executionStrategy: "concurrent", maxWorkers: 2 });
    const hold = gate();
    const got = signal();
    flow.addRoutine(routine({
      trigger(_data, _ctx, self) {
        self.emit("hold");
        setTimeout(() => self.emit("late", { x: 1 }), 5);
      },
    }, ["late", "hold"]), "only");
    flow.addRoutine(routine({ input: () => hold.wait }), "holder");
    flow.addRoutine(routine({ input: () => got.resolve() }), "sink");
    flow.connect("only", "hold", "holder", "input");
    flow.connect("only", "late", "sink", "input");
    const job = flow.execute("only");
    await got.promise;
    expect(trace(job.executionHistory)).toContain("only -> late");
    hold.open();
    expect(await JobState.waitForCompletion(flow, job)).toBe(true);
    expect(job.routineStates.sink?.status).toBe("completed");
  });
});

describe("no ended job stays reachable through timers", () => {
  function collect(): void {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  }

  it("after jobs started from handlers end (with a store renewing leases), a GC frees every ended JobState", async () => {
    const store = new MemoryJobStore({ leaseMs: 60_000 });
    const inner = new Flow({ flowId: "inner", store, executionTimeoutMs: 60_000 });
    inner.addRoutine(routine({ trigger: () => undefined }), "only");
    const outer = new Flow({ flowId: "outer", store, executionTimeoutMs: 60_000 });
    const refs: Array<WeakRef<object>> = [];
    outer.addRoutine(routine({
      trigger: async (_data, ctx) => {
        const child = inner.execute("only");
        refs.push(new WeakRef(child));
        await child.result();
        refs.push(new WeakRef(ctx.jobState));
      },
    }), "spawn");
    for (let i = 0; i < 5; i++) await outer.execute("spawn").result();
    expect(refs).toHaveLength(10);
    // deref() keeps its target alive until the current task ends, so collect in tasks that never deref.
    for (let i = 0; i < 4; i++) {
      await sleep(10);
      collect();
    }
    await sleep(0);
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    await outer.shutdown();
    await inner.shutdown();
    await store.close();
  });
});

describe("the handler context", () => {
  it("gives jobId, attempt, source, and delivers later without holding a worker", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "ctx", clock, executionStrategy: "concurrent", maxWorkers: 1 });
    const seen: unknown[] = [];
    flow.addRoutine(routine({
      trigger(_data, ctx) {
        seen.push({ jobId: ctx.jobId === ctx.jobState.jobId, attempt: ctx.attempt, source: ctx.source });
        ctx.emit("go", { n: 1 });
      },
    }, ["go"]), "a");
    const b = new Routine();
    b.defineSlot("input", (data, ctx: HandlerContext) => {
      seen.push({ source: ctx.source });
      ctx.deliverLater("later", { n: data.n }, 1000);
    });
    b.defineSlot("later", (data) => void seen.push({ later: data.n }));
    flow.addRoutine(b, "b");
    flow.connect("a", "go", "b", "input");
    const job = flow.execute("a");
    const other = flow.execute("a");
    await clock.advance(10);
    expect(job.status).toBe("running");
    expect(job.pendingTasks).toMatchObject([{ routineId: "b", slotName: "later", notBefore: clock.now() + 990 }]);
    await clock.advance(1000);
    expect(job.status).toBe("completed");
    expect(other.status).toBe("completed");
    expect(seen.filter((s) => "jobId" in (s as object))).toEqual([{ jobId: true, attempt: 1, source: undefined }, { jobId: true, attempt: 1, source: undefined }]);
    expect(seen).toContainEqual({ source: { routineId: "a", eventName: "go" } });
    expect(seen.filter((s) => (s as { later?: number }).later === 1)).toHaveLength(2);
  });

  it("a timeout aborts ctx.signal with a TimeoutError", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "timeout-signal", clock, executionTimeoutMs: 100 });
    let reason: unknown;
    flow.addRoutine(routine({
      trigger: (_data, ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => {
        reason = ctx.signal.reason;
        resolve();
      })),
    }), "only");
    const job = flow.execute("only");
    await clock.advance(150);
    expect(job.status).toBe("failed");
    expect(reason).toBeInstanceOf(TimeoutError);
  });
});

describe("delayed deliveries with keys", () => {
  it("a newer delivery with the same key replaces the pending one, and cancelDelivery withdraws it so the job can end", async () => {
    const clock = new SimulatedClock();
    const store = new MemoryJobStore();
    const flow = new Flow({ flowId: "keys", clock, store });
    const fired: unknown[] = [];
    const r = new Routine();
    r.defineSlot("trigger", (_data, ctx: HandlerContext) => {
      ctx.deliverLater("tick", { n: 1 }, 100, { key: "t" });
      ctx.deliverLater("tick", { n: 2 }, 200, { key: "t" });
      ctx.deliverLater("other", {}, 300, { key: "o" });
    });
    r.defineSlot("tick", (data, ctx: HandlerContext) => {
      fired.push(data.n);
      ctx.cancelDelivery("o");
    });
    r.defineSlot("other", () => void fired.push("other"));
    flow.addRoutine(r, "r");
    const job = await flow.start("r");
    await clock.advance(50);
    expect(job.pendingTasks.map((t) => [t.slotName, t.key])).toEqual([["tick", "t"], ["other", "o"]]);
    expect((await store.loadJob(job.jobId))!.pendingTasks.map((t) => t.data)).toEqual([{ n: 2 }, {}]);
    await clock.advance(200);
    expect(fired).toEqual([2]);
    expect(job.status).toBe("completed");
    const stored = (await store.loadJob(job.jobId))!;
    expect(stored.status).toBe("completed");
    expect(stored.pendingTasks).toEqual([]);
    await flow.shutdown();
    await store.close();
  });

  it("a delivery withdrawn while its job is paused stays withdrawn through a document", async () => {
    const flow = new Flow({ flowId: "keys-doc" });
    const r = new Routine();
    r.defineSlot("trigger", (_data, ctx: HandlerContext) => {
      ctx.deliverLater("later", {}, 60_000, { key: "k" });
      ctx.waitForInput({ slot: "stop" });
    });
    r.defineSlot("later", () => undefined);
    r.defineSlot("stop", (_data, ctx: HandlerContext) => ctx.cancelDelivery("k"));
    flow.addRoutine(r, "r");
    const job = flow.execute("r");
    await job.result();
    expect(job.pendingTasks).toHaveLength(1);
    const copy = JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
    expect(copy.pendingTasks[0]).toMatchObject({ slotName: "later", key: "k" });
    await flow.answer(job, "r", "stop", {});
    expect(await job.result()).toMatchObject({ status: "completed" });
  });
});
