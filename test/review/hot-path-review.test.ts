// The engine's hot path as a demanding user tries to break it: emits kept in fields rather than
// one-item lists, the handler's async context entered without run(), one object a wait, one clock
// read a task (an activation is never charged for user code that ran before it started).
import { describe, expect, it } from "vitest";
import {
  ErrorHandler, ErrorStrategy, Flow, JobState, MemoryJobStore, Routine, SimulatedClock, type Clock, type FlowEvent,
} from "../../src/index.js";
import { gate, routine, signal, sleep } from "../fixtures/testing.js";

/** A clock that moves only when the test's code moves it (`t`); real timers. */
function manualClock(): { clock: Clock; advance: (ms: number) => void; now: () => number } {
  let t = Date.UTC(2025, 0, 1);
  return {
    clock: { now: () => t, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    advance: (ms) => void (t += ms),
    now: () => t,
  };
}

const waitAll = (flow: Flow, jobs: JobState[]): Promise<boolean[]> => Promise.all(jobs.map((job) => JobState.waitForCompletion(flow, job)));

function perf(flow: Flow, id: string): { activations: number; totalMs: number; minMs: number; maxMs: number } {
  return flow.executionTracker.getRoutinePerformance(id);
}

// ---------------------------------------------------------------------------------------------- emits

describe("emits kept in fields", () => {
  it("ctx.emit: a routine that replaces emit has it called; an unknown event and a late emit are refused as by routine.emit", async () => {
    const calls: string[] = [];
    class Logged extends Routine {
      constructor() {
        super();
        this.defineSlot("trigger", (_data, ctx) => {
          ctx.emit("out", { n: 1 });
          expect(() => ctx.emit("nope", {})).toThrow(/nope/);
          setTimeout(() => {
            try {
              ctx.emit("out", { n: 2 });
            } catch (error) {
              calls.push(`late: ${(error as Error).message}`);
            }
            late.resolve();
          }, 5);
        });
        this.defineEvent("out");
      }

      override emit(eventName: string, data?: Record<string, unknown>): void {
        calls.push(`${eventName} ${JSON.stringify(data)}`);
        super.emit(eventName as never, data);
      }
    }
    const late = signal();
    const flow = new Flow();
    flow.addRoutine(new Logged(), "logged");
    flow.addRoutine(routine({ input: () => undefined }), "sink");
    flow.connect("logged", "out", "sink", "input");
    const job = flow.execute("logged");
    await JobState.waitForCompletion(flow, job);
    await late.promise;

    expect(calls.slice(0, 2)).toEqual(['out {"n":1}', "nope {}"]);
    expect(calls[2]).toBe('out {"n":2}');
    expect(calls[3]).toMatch(/late: .*job '.*' has ended \(completed\)/);
    expect(job.getExecutionHistory("logged").filter((r) => r.eventName === "out").map((r) => r.data)).toEqual([{ n: 1 }]);
  });

  it.each([0, 1, 2, 3, 17])("a handler emitting %i events, each to 3 connections: queue order, ids and history follow emit order", async (n) => {
    const flow = new Flow();
    const seen: string[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => { for (let i = 0; i < n; i++) self.emit("out", { i }); } }, ["out"]), "src");
    for (const name of ["a", "b", "c"]) {
      flow.addRoutine(routine({ input: (d) => void seen.push(`${name}${d.i as number}`) }), name);
      flow.connect("src", "out", name, "input");
    }
    const job = flow.execute("src");
    expect(await JobState.waitForCompletion(flow, job)).toBe(true);
    expect(job.status).toBe("completed");
    const expected: string[] = [];
    for (let i = 0; i < n; i++) for (const name of ["a", "b", "c"]) expected.push(`${name}${i}`);
    expect(seen).toEqual(expected);
    const emits = job.getExecutionHistory("src").filter((r) => r.eventName === "out");
    expect(emits.map((r) => r.data.i)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("mixed events (one with no connection) keep their relative order in history and in the queue", async () => {
    const flow = new Flow();
    const seen: string[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => {
      self.emit("x", { k: 1 }); self.emit("none", { k: 2 }); self.emit("y", { k: 3 }); self.emit("x", { k: 4 }); self.emit("none", { k: 5 });
    } }, ["x", "y", "none"]), "src");
    flow.addRoutine(routine({ input: (d) => void seen.push(`x${d.k as number}`) }), "xs");
    flow.addRoutine(routine({ input: (d) => void seen.push(`y${d.k as number}`) }), "ys");
    flow.connect("src", "x", "xs", "input");
    flow.connect("src", "y", "ys", "input");
    const job = flow.execute("src");
    await JobState.waitForCompletion(flow, job);
    expect(seen).toEqual(["x1", "y3", "x4"]);
    expect(job.getExecutionHistory("src").filter((r) => r.eventName !== "start").map((r) => `${r.eventName}${r.data.k as number}`)).toEqual(["x1", "none2", "y3", "x4", "none5"]);
  });

  it("inside the handler, jobState.executionHistory shows its own records last and in order, and getExecutionHistory works", async () => {
    const flow = new Flow();
    let inside: string[] = [];
    let insideFiltered = 0;
    flow.addRoutine(routine({ trigger: async (_d, ctx, self) => {
      self.emit("e", { i: 0 }); self.emit("e", { i: 1 });
      await sleep(1);
      self.emit("e", { i: 2 });
      inside = ctx.jobState.executionHistory.map((r) => `${r.routineId}.${r.eventName}${(r.data.i as number | undefined) ?? ""}`);
      insideFiltered = ctx.jobState.getExecutionHistory("src").length;
    } }, ["e"]), "src");
    const job = flow.execute("src");
    await JobState.waitForCompletion(flow, job);
    expect(inside).toEqual(["src.start", "src.e0", "src.e1", "src.e2"]);
    expect(insideFiltered).toBe(4);
    expect(job.executionHistory.filter((r) => r.eventName === "e").map((r) => r.data.i)).toEqual([0, 1, 2]);
  });

  it.each([ErrorStrategy.RETRY, ErrorStrategy.CONTINUE])("%s: emits and records of a failed attempt are discarded (and counted)", async (strategy) => {
    const flow = new Flow();
    const seen: number[] = [];
    const src = routine({ trigger: (_d, ctx, self) => {
      self.emit("out", { attempt: ctx.attempt, n: 1 });
      self.emit("out", { attempt: ctx.attempt, n: 2 });
      self.emit("out", { attempt: ctx.attempt, n: 3 });
      ctx.jobState.recordExecution("src", "note", { attempt: ctx.attempt });
      if (ctx.attempt === 1) throw new Error("first fails");
    } }, ["out"]);
    src.setErrorHandler(new ErrorHandler({ strategy, maxRetries: 2, retryDelayMs: 1 }));
    flow.addRoutine(src, "src");
    flow.addRoutine(routine({ input: (d) => void seen.push((d.attempt as number) * 10 + (d.n as number)) }), "a");
    flow.addRoutine(routine({ input: (d) => void seen.push(100 + (d.attempt as number) * 10 + (d.n as number)) }), "b");
    flow.connect("src", "out", "a", "input");
    flow.connect("src", "out", "b", "input");
    const job = flow.execute("src");
    await JobState.waitForCompletion(flow, job);
    expect(job.status).toBe("completed");
    const error = job.executionHistory.find((r) => r.eventName === "error")!;
    expect(error.data.discardedEmits).toBe(6);
    const srcRecords = job.getExecutionHistory("src").map((r) => `${r.eventName}:${(r.data.attempt as number | undefined) ?? "-"}`);
    if (strategy === ErrorStrategy.RETRY) {
      expect(srcRecords).toEqual(["start:-", "error:1", "retry:2", "out:2", "out:2", "out:2", "note:2"]);
      expect(seen).toEqual([21, 121, 22, 122, 23, 123]);
    } else {
      expect(srcRecords).toEqual(["start:-", "error:1"]);
      expect(seen).toEqual([]);
    }
  });

  it("a failed attempt with exactly one emit/record discards it (the field case)", async () => {
    const flow = new Flow();
    const seen: unknown[] = [];
    const src = routine({ trigger: (_d, _ctx, self) => { self.emit("out", { x: 1 }); throw new Error("no"); } }, ["out"]);
    src.setAsOptional("continue");
    flow.addRoutine(src, "src");
    flow.addRoutine(routine({ input: (d) => void seen.push(d) }), "a");
    flow.connect("src", "out", "a", "input");
    const job = flow.execute("src");
    await JobState.waitForCompletion(flow, job);
    expect(seen).toEqual([]);
    expect(job.executionHistory.map((r) => r.eventName)).toEqual(["start", "error", "completed"]);
    expect(job.executionHistory[1]!.data.discardedEmits).toBe(1);
  });

  it("emits from a detached callback after a successful settle are applied at once and delivered, in order", async () => {
    const flow = new Flow();
    const seen: number[] = [];
    const done = signal();
    flow.addRoutine(routine({ trigger: (_d, _c, self) => {
      self.emit("out", { i: 0 });
      setTimeout(() => { self.emit("out", { i: 1 }); self.emit("out", { i: 2 }); done.resolve(); }, 5);
    } }, ["out"]), "src");
    flow.addRoutine(routine({ input: async (d) => { seen.push(d.i as number); await sleep(20); } }), "a");
    flow.connect("src", "out", "a", "input");
    const job = flow.execute("src");
    await done.promise;
    await JobState.waitForCompletion(flow, job);
    expect(seen).toEqual([0, 1, 2]);
    expect(job.getExecutionHistory("src").filter((r) => r.eventName === "out").map((r) => r.data.i)).toEqual([0, 1, 2]);
  });

  it("with a store, the stored job has the same history order and task ids as the live one", async () => {
    const store = new MemoryJobStore();
    const flow = new Flow({ flowId: "stored-emits", store });
    flow.addRoutine(routine({ trigger: (_d, ctx, self) => {
      for (let i = 0; i < 5; i++) self.emit("out", { i });
      ctx.deliverLater?.("input", { i: 99 }, 1);
    }, input: () => undefined }, ["out"]), "src");
    flow.addRoutine(routine({ input: () => undefined }), "a");
    flow.addRoutine(routine({ input: () => undefined }), "b");
    flow.connect("src", "out", "a", "input");
    flow.connect("src", "out", "b", "input");
    const job = await flow.start("src");
    await JobState.waitForCompletion(flow, job);
    const loaded = (await store.loadJob(job.jobId))!;
    const strip = (j: JobState): unknown => j.executionHistory.map((r) => [r.routineId, r.eventName, r.data, r.timestamp.getTime()]);
    expect(strip(loaded)).toEqual(strip(job));
    expect(loaded.status).toBe("completed");
    await flow.shutdown();
    await store.close();
  });

  it("a paused job captures queued emits in emit order, and resume runs them in that order", async () => {
    const flow = new Flow();
    const seen: number[] = [];
    const g = gate();
    flow.addRoutine(routine({ trigger: (_d, _c, self) => { for (let i = 0; i < 5; i++) self.emit("out", { i }); } }, ["out"]), "src");
    flow.addRoutine(routine({ input: async (d) => { seen.push(d.i as number); if (d.i === 0) await g.wait; } }), "a");
    flow.connect("src", "out", "a", "input");
    const job = flow.execute("src");
    await sleep(5);
    const paused = flow.pause(job);
    g.open();
    await paused;
    expect(job.status).toBe("paused");
    expect(job.pendingTasks.map((t) => t.data.i)).toEqual([1, 2, 3, 4]);
    flow.resume(job);
    await JobState.waitForCompletion(flow, job);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });
});

// ---------------------------------------------------------------------------------------------- time

describe("one clock read a task", () => {
  it("user code of shared.update that runs again at commit (after the settle's clock read) is counted to no activation", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock });
    flow.addRoutine(routine({ trigger: (_d, ctx) => {
      // The update function takes 30 ms each time it runs: once in the handler, once at commit.
      ctx.shared.update<number>("n", (p) => { m.advance(30); return (p ?? 0) + 1; });
    } }), "counter");
    flow.addRoutine(routine({ trigger: () => undefined }), "quick");
    const jobs = [flow.execute("counter"), flow.execute("quick")];
    await waitAll(flow, jobs);
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed"]);
    expect(jobs[0]!.sharedData.n).toBe(1);
    expect(perf(flow, "counter")).toMatchObject({ activations: 1, totalMs: 30 });
    expect(perf(flow, "quick")).toMatchObject({ activations: 1, totalMs: 0 });
  });

  it("the same within one job: the next task of the job is not charged for the commit's update function", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock });
    flow.addRoutine(routine({ trigger: (_d, ctx, self) => {
      ctx.shared.update<number>("n", (p) => { m.advance(30); return (p ?? 0) + 1; });
      self.emit("out", {});
    } }, ["out"]), "counter");
    flow.addRoutine(routine({ input: () => undefined }), "next");
    flow.connect("counter", "out", "next", "input");
    const job = flow.execute("counter");
    await JobState.waitForCompletion(flow, job);
    expect(perf(flow, "next")).toMatchObject({ activations: 1, totalMs: 0 });
  });

  it("a custom thenable that calls back at once and then keeps working: that work is counted to no later activation", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock });
    flow.addRoutine(routine({ trigger: () => ({
      then(ok: () => void) { ok(); m.advance(40); },
    }) as unknown as Promise<void> }), "thenable");
    flow.addRoutine(routine({ trigger: () => undefined }), "quick");
    const jobs = [flow.execute("thenable"), flow.execute("quick")];
    await waitAll(flow, jobs);
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed"]);
    expect(perf(flow, "quick")).toMatchObject({ activations: 1, totalMs: 0 });
  });

  it("a settle from another activation's code, followed by that activation failing, passes no stale time on", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock, executionStrategy: "concurrent", maxWorkers: 4 });
    let stored: (() => void) | undefined;
    flow.addRoutine(routine({ trigger: () => ({ then(ok: () => void) { stored = ok; } }) as unknown as Promise<void> }), "held");
    const releaser = routine({ trigger: () => {
      stored!();          // settles `held` from here: it succeeded
      m.advance(25);      // this handler works on, then fails
      throw new Error("releaser fails");
    } });
    releaser.setAsOptional("continue");
    flow.addRoutine(releaser, "releaser");
    flow.addRoutine(routine({ trigger: () => undefined }), "quick");
    const jobs = [flow.execute("held"), flow.execute("releaser"), flow.execute("quick")];
    await waitAll(flow, jobs);
    expect(perf(flow, "releaser")).toMatchObject({ activations: 1, totalMs: 25 });
    expect(perf(flow, "quick")).toMatchObject({ activations: 1, totalMs: 0 });
  });

  it("an ok settle of a job cancelled meanwhile re-merges later contributions with the user's merge function: not charged onward", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock, executionStrategy: "concurrent", maxWorkers: 2 });
    const g = gate();
    const started = signal();
    let merging = false;
    let remerges = 0;
    flow.addRoutine(routine({ trigger: (_d, _c, self) => { self.emit("out", { i: 1 }); self.emit("out", { i: 2 }); } }, ["out"]), "src");
    flow.addRoutine(routine({ input: {
      handler: async (d) => { if (d.i === 2) started.resolve(); await g.wait; },
      mergeStrategy: (prev, inc) => { if (merging) { remerges++; m.advance(20); } return { ...prev, ...inc }; },
    } }), "m");
    flow.connect("src", "out", "m", "input");
    flow.addRoutine(routine({ trigger: () => undefined }), "quick");
    const job = flow.execute("src");
    await started.promise;
    const cancelled = flow.cancel(job).catch(() => undefined);
    const quick = flow.execute("quick"); // queued: both workers are busy
    await sleep(1);
    merging = true;
    g.open();
    await waitAll(flow, [quick, job]);
    await cancelled;
    expect(job.status).toBe("cancelled");
    expect(remerges).toBe(1);
    expect(perf(flow, "quick")).toMatchObject({ activations: 1, totalMs: 0 });
  });

  it("a Standard Schema check of an early answer (run by the settle of the asking activation) is not charged onward", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock });
    const g = gate();
    const started = signal();
    let checks = 0;
    const schema = { "~standard": { version: 1, vendor: "review", validate: (value: unknown) => { checks++; m.advance(15); return { value }; } } };
    flow.addRoutine(routine({
      trigger: async (_d, ctx) => { started.resolve(); await g.wait; ctx.waitForInput({ slot: "answer", schema }); },
      answer: () => undefined,
    }), "asker");
    flow.addRoutine(routine({ trigger: () => undefined }), "quick");
    const job = flow.execute("asker");
    await started.promise;
    await flow.answer(job, "asker", "answer", { ok: true }); // early: kept until the wait starts
    const quick = flow.execute("quick"); // queued behind the one worker
    const before = checks;
    g.open();
    await waitAll(flow, [quick, job]);
    expect(checks).toBeGreaterThan(before);
    expect(job.status).toBe("completed");
    expect(perf(flow, "quick")).toMatchObject({ activations: 1, totalMs: 0 });
  });

  it("SimulatedClock: async handlers, idle periods, deliverLater and retries give exact durations and record times", async () => {
    const clock = new SimulatedClock();
    const t0 = clock.now();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 3 });
    const delay = (ms: number): Promise<void> => new Promise((r) => void clock.setTimeout(r, ms));
    flow.addRoutine(routine({
      trigger: async (_d, ctx, self) => { await delay(7); self.emit("out", {}); ctx.deliverLater("later", {}, 100); },
      later: async (_d, _c, self) => { await delay(3); self.emit("late", {}); },
    }, ["out", "late"]), "src");
    const flaky = routine({ input: async (_d, ctx) => { await delay(5); if (ctx.attempt < 3) throw new Error("again"); } });
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 50 }));
    flow.addRoutine(flaky, "flaky");
    flow.addRoutine(routine({ input: () => undefined }), "sync");
    flow.connect("src", "out", "flaky", "input");
    flow.connect("src", "out", "sync", "input");
    const jobs = [flow.execute("src"), flow.execute("src")];
    await clock.advance(1000);
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed"]);
    // src: 2 jobs x (trigger 7 + later 3)
    expect(perf(flow, "src")).toMatchObject({ activations: 4, totalMs: 20, minMs: 3, maxMs: 7 });
    expect(perf(flow, "flaky")).toMatchObject({ activations: 6, totalMs: 30, minMs: 5, maxMs: 5 });
    expect(perf(flow, "sync")).toMatchObject({ activations: 2, totalMs: 0 });
    const times = jobs[0]!.executionHistory.map((r) => `${r.routineId}.${r.eventName}@${r.timestamp.getTime() - t0}`);
    expect(times).toEqual([
      "src.start@0", "src.out@7", "flaky.error@12", "flaky.retry@12", "flaky.error@67", "flaky.retry@67", "src.late@110", `${flow.flowId}.completed@172`,
    ]);
  });

  it("many interleaved jobs with a SimulatedClock: every activation takes exactly its simulated time", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, executionStrategy: "concurrent", maxWorkers: 4 });
    const delay = (ms: number): Promise<void> => new Promise((r) => void clock.setTimeout(r, ms));
    flow.addRoutine(routine({ trigger: async (d, _c, self) => { await delay(d.ms as number); for (let i = 0; i < 3; i++) self.emit("out", {}); } }, ["out"]), "src");
    flow.addRoutine(routine({ input: async () => { await delay(2); } }), "a");
    flow.addRoutine(routine({ input: () => undefined }), "b");
    flow.connect("src", "out", "a", "input");
    flow.connect("src", "out", "b", "input");
    const jobs = Array.from({ length: 20 }, (_, i) => flow.execute("src", { entryParams: { ms: (i % 5) + 1 } }));
    await clock.advance(10_000);
    expect(jobs.every((j) => j.status === "completed")).toBe(true);
    expect(perf(flow, "src")).toMatchObject({ activations: 20, totalMs: 4 * (1 + 2 + 3 + 4 + 5), minMs: 1, maxMs: 5 });
    expect(perf(flow, "a")).toMatchObject({ activations: 60, totalMs: 120, minMs: 2, maxMs: 2 });
    expect(perf(flow, "b")).toMatchObject({ activations: 60, totalMs: 0, maxMs: 0 });
  });

  it("a manual clock moved only by handlers: an idle gap between jobs is charged to no activation", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock });
    flow.addRoutine(routine({ trigger: (_d, _c, self) => { m.advance(3); self.emit("out", {}); } }, ["out"]), "src");
    flow.addRoutine(routine({ input: () => { m.advance(4); } }), "sink");
    flow.connect("src", "out", "sink", "input");
    const first = flow.execute("src");
    await JobState.waitForCompletion(flow, first);
    m.advance(1000); // idle
    const second = flow.execute("src");
    await JobState.waitForCompletion(flow, second);
    expect(perf(flow, "src")).toMatchObject({ activations: 2, totalMs: 6, maxMs: 3 });
    expect(perf(flow, "sink")).toMatchObject({ activations: 2, totalMs: 8, maxMs: 4 });
  });

  it("time passing in a status-event listener or a waiter's continuation between jobs is charged to no activation", async () => {
    const m = manualClock();
    const flow = new Flow({ clock: m.clock });
    flow.subscribe((e: FlowEvent) => { if (e.type === "record") m.advance(11); });
    flow.addRoutine(routine({ trigger: (_d, _c, self) => { self.emit("out", {}); } }, ["out"]), "src");
    flow.addRoutine(routine({ input: () => undefined }), "sink");
    flow.connect("src", "out", "sink", "input");
    const jobs = Array.from({ length: 5 }, () => flow.execute("src"));
    await waitAll(flow, jobs);
    expect(perf(flow, "src")).toMatchObject({ activations: 5, totalMs: 0 });
    expect(perf(flow, "sink")).toMatchObject({ activations: 5, totalMs: 0 });
  });

  it("a lease-less job with a SimulatedClock far in the past still runs (the lease check reads the wall clock only for leased jobs)", async () => {
    const clock = new SimulatedClock(0);
    const flow = new Flow({ clock });
    flow.addRoutine(routine({ trigger: () => undefined }), "src");
    const job = flow.execute("src");
    await clock.advance(10);
    expect(job.status).toBe("completed");
  });
});

// ---------------------------------------------------------------------------------------------- waits

describe("waits", () => {
  it("waitForCompletion: true after completion; false on timeout with the job running on; a later wait true", async () => {
    const flow = new Flow();
    const g = gate();
    flow.addRoutine(routine({ trigger: async () => { await g.wait; } }), "src");
    const job = flow.execute("src");
    const w = JobState.waitForCompletion(flow, job, { timeoutMs: 10 });
    expect(w).toBeInstanceOf(Promise);
    expect(await w).toBe(false);
    expect(job.status).toBe("running");
    const later = JobState.waitForCompletion(flow, job);
    const later0 = JobState.waitForCompletion(flow, job, { timeoutMs: 0 });
    expect(await later0).toBe(false);
    g.open();
    expect(await later).toBe(true);
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 0 })).toBe(true);
    expect(await JobState.waitForCompletion(flow, job)).toBe(true);
  });

  it("1000 waiters on one job, half timing out on a SimulatedClock: each resolves once with its own answer", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const delay = (ms: number): Promise<void> => new Promise((r) => void clock.setTimeout(r, ms));
    flow.addRoutine(routine({ trigger: async () => { await delay(100); } }), "src");
    const job = flow.execute("src");
    const waits = Array.from({ length: 1000 }, (_, i) => JobState.waitForCompletion(flow, job, i % 2 === 0 ? { timeoutMs: 50 } : {}));
    const results = Array.from({ length: 20 }, (_, i) =>
      job.result(i % 2 === 0 ? { timeoutMs: 50 } : {}).then((r) => r.status, (e: Error) => e.name));
    await clock.advance(200);
    const got = await Promise.all(waits);
    expect(got.filter((x, i) => x === (i % 2 !== 0)).length).toBe(1000);
    expect(await Promise.all(results)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "TimeoutError" : "completed")));
    expect(clock.pendingTimers).toBe(0);
  });

  it("with a store: many waiters (some timing out) across pause, resume and completion each resolve once and correctly", async () => {
    const store = new MemoryJobStore();
    const flow = new Flow({ flowId: "stored-waits", store });
    const g = gate();
    const started = signal();
    flow.addRoutine(routine({ trigger: async (_d, _c, self) => { started.resolve(); await g.wait; self.emit("out", {}); } }, ["out"]), "src");
    flow.addRoutine(routine({ input: async () => { await sleep(5); } }), "sink");
    flow.connect("src", "out", "sink", "input");
    const job = await flow.start("src");
    await started.promise;
    const early = Array.from({ length: 200 }, (_, i) => flow.waitForJob(job, i % 4 === 0 ? { timeoutMs: 1 } : {}));
    const pausing = flow.pause(job);
    g.open();
    await pausing;
    const got = await Promise.all(early);
    expect(got.filter((x, i) => i % 4 !== 0 && x !== true)).toEqual([]);
    flow.resume(job);
    const late = Array.from({ length: 200 }, () => flow.waitForJob(job));
    const results = Array.from({ length: 10 }, () => job.result());
    expect((await Promise.all(late)).every((x) => x === true)).toBe(true);
    expect((await Promise.all(results)).map((r) => r.status)).toEqual(Array(10).fill("completed"));
    expect((await store.loadJob(job.jobId))!.status).toBe("completed");
    await flow.shutdown();
    await store.close();
  });

  it("waiters on pause / resume / cancel", async () => {
    const flow = new Flow();
    const g = gate();
    const started = signal();
    flow.addRoutine(routine({ trigger: async (_d, _c, self) => { started.resolve(); await g.wait; self.emit("out", {}); } }, ["out"]), "src");
    flow.addRoutine(routine({ input: async () => { await sleep(1000); } }), "slow");
    flow.connect("src", "out", "slow", "input");
    const job = flow.execute("src");
    await started.promise;
    const before = JobState.waitForCompletion(flow, job);
    const beforeResult = job.result();
    const pausing = flow.pause(job);
    g.open();
    await pausing;
    expect(await before).toBe(true);
    expect((await beforeResult).status).toBe("paused");
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5 })).toBe(true);
    flow.resume(job);
    const afterResume = JobState.waitForCompletion(flow, job, { timeoutMs: 10 });
    expect(await afterResume).toBe(false);
    const waiting = JobState.waitForCompletion(flow, job);
    const result = job.result();
    await flow.cancel(job, { reason: "enough" });
    expect(await waiting).toBe(true);
    expect(await result).toMatchObject({ status: "cancelled", reason: "enough" });
  });

  it("a handler pausing / cancelling its own job: waiters see it rest", async () => {
    for (const op of ["pause", "cancel"] as const) {
      const flow = new Flow();
      flow.addRoutine(routine({ trigger: async (_d, ctx, self) => {
        if (op === "pause") void ctx.flow.pause(ctx.jobState); else void ctx.flow.cancel(ctx.jobState);
        self.emit("out", {});
        await sleep(1);
      } }, ["out"]), "src");
      flow.addRoutine(routine({ input: () => undefined }), "sink");
      flow.connect("src", "out", "sink", "input");
      const job = flow.execute("src");
      expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 1000 })).toBe(true);
      expect(job.status).toBe(op === "pause" ? "paused" : "cancelled");
    }
  });

  it("shutdown while waiting: waitForCompletion resolves false, result() settles", async () => {
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: async () => { await sleep(300); } }), "src");
    const job = flow.execute("src");
    await sleep(2);
    const w = JobState.waitForCompletion(flow, job);
    const wt = JobState.waitForCompletion(flow, job, { timeoutMs: 10_000 });
    const r = job.result().then((x) => x.status, (e: Error) => `rejected ${e.name}`);
    await flow.shutdown({ graceMs: 20 });
    expect(await w).toBe(false);
    expect(await wt).toBe(false);
    expect(await r).toBeTypeOf("string");
    // After shutdown: a new wait ends at once.
    expect(await Promise.race([JobState.waitForCompletion(flow, job), sleep(200).then(() => "hung")])).not.toBe("hung");
  });

  it("bad timeoutMs and a job of another flow reject, never throw", async () => {
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: () => undefined }), "src");
    const job = flow.execute("src");
    const other = new Flow();
    await expect(JobState.waitForCompletion(flow, job, { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
    await expect(JobState.waitForCompletion(flow, job, { timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
    await expect(JobState.waitForCompletion(other, job)).rejects.toThrow(/belongs to flow/);
  });

  it("flow.events({ jobId }) of a job that ended, and of one that ended more than 1024 jobs ago", async () => {
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: () => undefined }), "src");
    const first = flow.execute("src");
    await JobState.waitForCompletion(flow, first);
    const collect = async (jobId: string, ms: number): Promise<string> => {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), ms);
      const seen: string[] = [];
      for await (const e of flow.events({ jobId, signal: ac.signal })) seen.push(e.type);
      clearTimeout(timer);
      return ac.signal.aborted ? `aborted after ${seen.length}` : `ended after ${seen.length}`;
    };
    expect(await collect(first.jobId, 500)).toMatch(/^ended/);
    const more = Array.from({ length: 1100 }, () => flow.execute("src"));
    await waitAll(flow, more);
    expect(await collect(more[1099]!.jobId, 500)).toMatch(/^ended/);
    expect(await collect(more[100]!.jobId, 500)).toMatch(/^ended/);
    // Ended 1100 jobs ago: forgotten (as with the Set of before, which also dropped the oldest).
    const old = await collect(first.jobId, 100);
    expect(old).toMatch(/^(ended|aborted)/);
  });
});

// ---------------------------------------------------------------------------------------------- handlers and context

describe("handlers and their context (enterWith)", () => {
  it("sync throw, rejected promise, custom thenables (ok, fail, throwing then, double callback): right outcome, context restored", async () => {
    const flow = new Flow();
    const outcomes: Record<string, unknown> = {};
    const probeRoutine = routine({ trigger: () => undefined }, ["probe"]);
    flow.addRoutine(probeRoutine, "probe");
    const kinds: Record<string, () => unknown> = {
      syncThrow: () => { throw new TypeError("sync"); },
      rejected: () => Promise.reject(new RangeError("rej")),
      thenOk: () => ({ then: (ok: () => void) => setTimeout(ok, 1) }),
      thenFail: () => ({ then: (_ok: () => void, fail: (e: unknown) => void) => fail(new SyntaxError("thenable")) }),
      thenThrows: () => ({ then: () => { throw new EvalError("then threw"); } }),
      twice: () => ({ then: (ok: () => void, fail: (e: unknown) => void) => { ok(); fail(new Error("late")); ok(); } }),
      nonError: () => { throw "a string"; },
    };
    for (const [name, fn] of Object.entries(kinds)) {
      const r = routine({ trigger: fn as never });
      r.setAsOptional("continue");
      flow.addRoutine(r, name);
    }
    const jobs = Object.keys(kinds).map((k) => [k, flow.execute(k)] as const);
    // Outside any handler, in between: no context
    await sleep(0);
    expect(probeRoutine.getExecutionContext()).toBeUndefined();
    await waitAll(flow, jobs.map(([, j]) => j));
    for (const [k, j] of jobs) outcomes[k] = `${j.status}:${j.getRoutineState(k)?.status as string}:${(j.getRoutineState(k)?.errorType as string | undefined) ?? ""}`;
    expect(outcomes).toEqual({
      syncThrow: "completed:error_continued:TypeError",
      rejected: "completed:error_continued:RangeError",
      thenOk: "completed:completed:",
      thenFail: "completed:error_continued:SyntaxError",
      thenThrows: "completed:error_continued:EvalError",
      twice: "completed:completed:",
      nonError: expect.stringMatching(/^completed:error_continued:/),
    });
    expect(probeRoutine.getExecutionContext()).toBeUndefined();
  });

  it("after awaits, ctx.jobState and getExecutionContext name the handler's own job, across interleaved jobs", async () => {
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 8 });
    const wrong: string[] = [];
    const r: Routine = routine({ trigger: async (d, ctx) => {
      for (let i = 0; i < 5; i++) {
        await sleep((d.n as number) % 3);
        if (r.getExecutionContext()?.jobState !== ctx.jobState) wrong.push(`ctx ${d.n as number}`);
        if (ctx.jobState.metadata.n !== d.n) wrong.push(`job ${d.n as number}`);
        await Promise.resolve();
        await { then: (ok: () => void) => ok() };
        if (r.getExecutionContext()?.jobState.jobId !== ctx.jobId) wrong.push(`thenable ${d.n as number}`);
      }
    } });
    flow.addRoutine(r, "src");
    const jobs = Array.from({ length: 30 }, (_, n) => flow.execute("src", { entryParams: { n }, metadata: { n } }));
    await waitAll(flow, jobs);
    expect(wrong).toEqual([]);
    expect(r.getExecutionContext()).toBeUndefined();
  });

  it("a sync handler that throws leaves no context behind for the next handler's sync code or for code outside", async () => {
    const flow = new Flow();
    const seen: string[] = [];
    const a: Routine = routine({ trigger: () => { throw new Error("x"); } });
    a.setAsOptional("continue");
    const b: Routine = routine({ trigger: (_d, ctx) => {
      seen.push(`a sees ${a.getExecutionContext()?.jobState === ctx.jobState ? "b's job" : "other"}`);
      seen.push(`b own ${b.getExecutionContext()?.jobState === ctx.jobState}`);
    } });
    flow.addRoutine(a, "a");
    flow.addRoutine(b, "b");
    const jobs = [flow.execute("a"), flow.execute("b")];
    await waitAll(flow, jobs);
    expect(seen).toEqual(["a sees b's job", "b own true"]);
  });

  it("a handler started from inside another job's continuation (settle from a thenable callback) restores that continuation's context", async () => {
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 2 });
    let stored: (() => void) | undefined;
    const seen: string[] = [];
    const holder = routine({ trigger: () => ({ then(ok: () => void) { stored = ok; } }) as unknown as Promise<void> });
    const q = routine({ trigger: () => undefined });
    const caller: Routine = routine({ trigger: async (_d, ctx) => {
      await sleep(5);
      stored!();                 // settles holder; the drain then runs `q` (queued meanwhile)
      seen.push(caller.getExecutionContext()?.jobState === ctx.jobState ? "own" : "lost");
      await sleep(1);
      seen.push(caller.getExecutionContext()?.jobState === ctx.jobState ? "own" : "lost");
    } });
    flow.addRoutine(holder, "holder");
    flow.addRoutine(caller, "caller");
    flow.addRoutine(q, "q");
    const jobs = [flow.execute("holder"), flow.execute("caller")];
    await sleep(1);
    jobs.push(flow.execute("q"));
    await waitAll(flow, jobs);
    expect(seen).toEqual(["own", "own"]);
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed", "completed"]);
  });
});
