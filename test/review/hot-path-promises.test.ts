// The promises of the reworked per-task path that held under review: a handler's async context,
// scheduling in turns of up to 16 tasks, job ids, and retries as units of work. Each test is one
// a demanding user would run; the seeded ones name their seed.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ErrorHandler, ErrorStrategy, Flow, JobState, MemoryJobStore, RoutiluxError, SimulatedClock, SqliteJobStore, type JobStore, type Routine,
} from "../../src/index.js";
import { gate, routine, signal, sleep } from "../fixtures/testing.js";
import { contextSeenBy } from "./helpers.js";
import { attributionProblems, controlChaosProblems } from "./hot-path-models.js";

const dirs: string[] = [];
function sqliteStore(): SqliteJobStore {
  const dir = mkdtempSync(join(tmpdir(), "routilux-review-"));
  dirs.push(dir);
  return new SqliteJobStore({ path: join(dir, "jobs.db") });
}
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

async function withStore<T>(store: JobStore | undefined, body: (store: JobStore | undefined) => Promise<T>): Promise<T> {
  try {
    return await body(store);
  } finally {
    await store?.close();
  }
}

/** `src` emits `n` items to `sink`, whose handler is `onItem`. */
function fanOut(n: number, onItem: (i: number, job: JobState, flow: Flow) => void, options: { store?: JobStore } = {}): Flow {
  const flow = new Flow({ flowId: "fan-out", ...options });
  flow.addRoutine(routine({ trigger: (_data, _ctx, self) => { for (let i = 0; i < n; i++) self.emit("item", { i }); } }, ["item"]), "src");
  flow.addRoutine(routine({ input: (data, ctx) => onItem(data.i as number, ctx.jobState, ctx.flow) }), "sink");
  flow.connect("src", "item", "sink", "input");
  return flow;
}

describe("a handler's async context", () => {
  it.each([[1, "memory"], [2, "memory"], [3, "memory"], [4, "sqlite"]] as const)(
    "seed %i, %s: the same routines in 8 concurrent jobs, ending every way a handler can, write only to their own activation",
    async (seed, kind) => {
      expect(await withStore(kind === "sqlite" ? sqliteStore() : undefined, (store) => attributionProblems(seed, store))).toEqual([]);
    },
  );

  it.each([["no store", false], ["a store", true]] as const)(
    "with %s, listeners, event iterators, merge functions, retry predicates, awaited results and timers run outside any job",
    async (_label, stored) => {
      const flow = new Flow({ flowId: "outside", store: stored ? new MemoryJobStore() : undefined });
      const seen = new Set<string>();
      const src = routine({ trigger: (_data, _ctx, self) => { for (let i = 0; i < 40; i++) self.emit("item", { i }); } }, ["item", "probe"]);
      const sink = routine({
        input: {
          handler: (data, ctx) => { if (data.i === 39 && ctx.attempt === 1) throw new TypeError("retry me"); },
          mergeStrategy: (_previous, incoming) => (seen.add(`merge: ${contextSeenBy(src)}`), incoming),
        },
      });
      const retryable = (): boolean => (seen.add(`retryable: ${contextSeenBy(src)}`), true);
      sink.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 1, retryable }));
      flow.addRoutine(src, "src");
      flow.addRoutine(sink, "sink");
      flow.connect("src", "item", "sink", "input");
      flow.subscribe((event) => {
        seen.add(`listener: ${contextSeenBy(src)}`);
        if (event.type === "status" && event.status === "running") job.updateSharedData("fromListener", 1);
      });
      const job = flow.execute("src");
      job.updateSharedData("fromMain", 1);
      const iterated = (async () => { for await (const _event of flow.events({ jobId: job.jobId })) seen.add(`events(): ${contextSeenBy(src)}`); })();
      await job.result();
      seen.add(`after result(): ${contextSeenBy(src)}`);
      await JobState.waitForCompletion(flow, job).then(() => seen.add(`then of waitForCompletion: ${contextSeenBy(src)}`));
      await iterated;
      await new Promise<void>((resolve) => setTimeout(() => resolve(void seen.add(`timer: ${contextSeenBy(src)}`)), 0));
      expect([...seen].sort()).toEqual([
        "after result(): outside", "events(): outside", "listener: outside", "merge: outside",
        "retryable: outside", "then of waitForCompletion: outside", "timer: outside",
      ]);
      expect([job.getSharedData("fromMain"), job.getSharedData("fromListener")]).toEqual([1, 1]);
      await flow.shutdown();
    },
  );

  it("a thenable or a Promise subclass settled from another job's handler disturbs neither that handler's context nor the listeners'", async () => {
    class Hijacked extends Promise<void> {
      static readonly callbacks: Array<() => void> = [];
      override then<A = void, B = never>(
        ok?: ((v: void) => A | PromiseLike<A>) | null,
        ko?: ((e: unknown) => B | PromiseLike<B>) | null,
      ): Promise<A | B> {
        Hijacked.callbacks.push(() => void ok?.());
        return super.then(ok, ko);
      }
    }
    const flow = new Flow({ flowId: "settled-elsewhere", executionStrategy: "concurrent", maxWorkers: 4, store: new MemoryJobStore() });
    const watched = signal();
    let fire: (() => void) | undefined;
    const seen: string[] = [];
    const node: Routine = routine({
      trigger: async (data, ctx) => {
        if (data.role === "thenable") return { then: (ok: () => void) => { fire = ok; watched.resolve(); } } as unknown as Promise<void>;
        if (data.role === "subclass") return new Hijacked(() => undefined);
        await watched.promise;
        await sleep(5);
        for (const callback of Hijacked.callbacks.splice(0)) callback();
        fire!();
        seen.push(node.getExecutionContext()?.jobState === ctx.jobState ? "own" : "lost");
        await sleep(5);
        seen.push(node.getExecutionContext()?.jobState === ctx.jobState ? "own" : "lost");
      },
    }, ["probe"]);
    flow.addRoutine(node, "node");
    flow.subscribe((event) => { if (event.type === "status") seen.push(`listener: ${contextSeenBy(node)}`); });
    const jobs = ["thenable", "subclass", "settler"].map((role) => flow.execute("node", { entryParams: { role } }));
    for (const job of jobs) await job.result();
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed", "completed"]);
    expect(seen.filter((s) => !s.startsWith("listener"))).toEqual(["own", "own"]);
    expect(seen.filter((s) => s.startsWith("listener") && s !== "listener: outside")).toEqual([]);
    await flow.shutdown();
  });

  it("a detached promise continuation that emits after its job ended gets a RoutiluxError naming the job", async () => {
    const fired = signal<unknown>();
    const flow = fanOut(20, () => undefined);
    flow.addRoutine(routine({
      trigger: (_data, _ctx, self) => void sleep(20).then(() => {
        try {
          self.emit("late", {});
          fired.resolve("no error");
        } catch (error) {
          fired.resolve(error);
        }
      }),
    }, ["late"]), "detacher");
    const job = flow.execute("detacher");
    await job.result();
    const error = await fired.promise;
    expect(error).toBeInstanceOf(RoutiluxError);
    expect((error as Error).message).toContain(`job '${job.jobId}' has ended (completed)`);
  });
});

describe("scheduling in turns", () => {
  it("job.pendingTasks, read from each of 40 synchronous handlers of one turn, drops by one each time", async () => {
    const seen: number[] = [];
    await fanOut(40, (_i, job) => void seen.push(job.pendingTasks.length)).execute("src").result();
    expect(seen).toEqual(Array.from({ length: 40 }, (_, k) => 39 - k));
  });

  it.each([["memory", false], ["sqlite", true]] as const)(
    "%s: a pause from a synchronous handler mid-turn runs nothing after it, keeps (and stores) 35 pending tasks, and resume runs each once",
    async (_label, durable) => {
      const store = durable ? sqliteStore() : new MemoryJobStore();
      const ran: number[] = [];
      let pausing: Promise<void> | undefined;
      const flow = fanOut(40, (i, job, f) => {
        ran.push(i);
        if (i === 4 && pausing === undefined) pausing = f.pause(job, { reason: "mid-turn" });
      }, { store });
      const job = await flow.start("src");
      await job.result();
      await pausing;
      expect([job.status, ran, job.pendingTasks.length]).toEqual(["paused", [0, 1, 2, 3, 4], 35]);
      const stored = await store.loadJob(job.jobId);
      expect([stored?.status, stored?.pendingTasks.length]).toEqual(["paused", 35]);
      flow.resume(job);
      await job.result();
      expect(ran).toEqual(Array.from({ length: 40 }, (_, k) => k));
      expect((await store.loadJob(job.jobId))?.status).toBe("completed");
      await flow.shutdown();
      await store.close();
    },
  );

  it("a cancel, an input request or a shutdown from a synchronous handler mid-turn stops the turn there", async () => {
    const runs: Record<string, number[]> = { cancel: [], wait: [], shutdown: [] };
    let shuttingDown: Promise<void> | undefined;
    const cancelled = fanOut(40, (i, job, f) => { runs.cancel!.push(i); if (i === 4) void f.cancel(job); }).execute("src");
    expect((await cancelled.result()).status).toBe("cancelled");
    const waiting = new Flow({ flowId: "asks" });
    waiting.addRoutine(routine({ trigger: (_data, _ctx, self) => { for (let i = 0; i < 40; i++) self.emit("item", { i }); } }, ["item"]), "src");
    waiting.addRoutine(routine({
      input: (data, ctx) => { runs.wait!.push(data.i as number); if (data.i === 4) ctx.waitForInput({ slot: "answer" }); },
      answer: () => void runs.wait!.push(-1),
    }), "sink");
    waiting.connect("src", "item", "sink", "input");
    const asked = waiting.execute("src");
    expect([(await asked.result()).status, asked.pendingTasks.length]).toEqual(["paused", 35]);
    await waiting.answer(asked, "sink", "answer", {});
    expect((await asked.result()).status).toBe("completed");
    const stopping = fanOut(40, (i, _job, f) => { runs.shutdown!.push(i); if (i === 4) shuttingDown ??= f.shutdown(); });
    stopping.execute("src");
    stopping.execute("src");
    await sleep(20);
    await shuttingDown;
    expect(runs.cancel).toEqual([0, 1, 2, 3, 4]);
    expect(runs.wait!.filter((i) => i === -1)).toHaveLength(1);
    expect(runs.wait!.filter((i) => i >= 0).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, k) => k));
    expect(runs.shutdown).toEqual([0, 1, 2, 3, 4]);
  });

  it.each([[1, "sequential"], [2, "sequential"], [3, "concurrent"], [4, "concurrent"], [5, "concurrent, sqlite"]] as const)(
    "seed %i, %s: pause, resume and cancel of random jobs from handlers mid-turn run no task twice and lose none",
    async (seed, mode) => {
      const store = mode.endsWith("sqlite") ? sqliteStore() : undefined;
      expect(await withStore(store, (s) => controlChaosProblems(seed, { concurrent: mode !== "sequential", store: s }))).toEqual([]);
    },
  );

  it("maxWorkers holds with synchronous and asynchronous handlers mixed in turns, and while a cancelled handler ignores its signal", async () => {
    let running = 0;
    let most = 0;
    const hang = gate();
    const flow = new Flow({ flowId: "bounded", executionStrategy: "concurrent", maxWorkers: 2 });
    flow.addRoutine(routine({ trigger: (_data, _ctx, self) => { for (let i = 0; i < 48; i++) self.emit("item", { i }); } }, ["item"]), "src");
    flow.addRoutine(routine({
      input: (data) => {
        most = Math.max(most, ++running);
        if ((data.i as number) % 3 === 0) return sleep(1).then(() => void running--);
        running--;
        return undefined;
      },
      trigger: async () => {
        most = Math.max(most, ++running);
        await hang.wait;
        running--;
      },
    }), "sink");
    flow.connect("src", "item", "sink", "input");
    const stubborn = flow.execute("sink");
    await sleep(5);
    const cancelling = flow.cancel(stubborn);
    const jobs = [flow.execute("src"), flow.execute("src"), flow.execute("src")];
    await sleep(20);
    hang.open();
    await cancelling;
    for (const job of jobs) await job.result();
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed", "completed"]);
    expect(most).toBe(2);
  });

  it("three jobs of synchronous handlers take turns of at most 16 tasks, round robin", async () => {
    const order: string[] = [];
    const flow = fanOut(200, (_i, job) => void order.push(job.jobId));
    const jobs = [flow.execute("src"), flow.execute("src"), flow.execute("src")];
    for (const job of jobs) await job.result();
    const runs: number[] = [];
    order.forEach((id, k) => { if (k > 0 && order[k - 1] === id) runs[runs.length - 1]!++; else runs.push(1); });
    // A turn is cut short only by a time slice's end (a loaded machine), never made longer.
    expect(Math.max(...runs)).toBeLessThanOrEqual(16);
    expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(600 / 16));
  });

  it("executionTimeoutMs fails a job whose synchronous handlers loop through the queue, on a simulated and on the system clock", async () => {
    const looping = (options: { clock?: SimulatedClock }): { flow: Flow; runs: () => number } => {
      let runs = 0;
      const flow = new Flow({ flowId: "loop", executionTimeoutMs: 100, ...options });
      flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("again", {}), input: (_d, _c, self) => { runs++; self.emit("again", {}); } }, ["again"]), "loop");
      flow.connect("loop", "again", "loop", "input");
      return { flow, runs: () => runs };
    };
    const clock = new SimulatedClock();
    const simulated = looping({ clock });
    const first = simulated.flow.execute("loop");
    await clock.advance(100);
    expect(first.status).toBe("failed");
    const real = looping({});
    const second = real.flow.execute("loop");
    let runsAtTimer = -1;
    setTimeout(() => { runsAtTimer = real.runs(); }, 0);
    const result = await second.result();
    expect(result.status).toBe("failed");
    expect(second.executionHistory.some((r) => r.eventName === "timeout")).toBe(true);
    expect(runsAtTimer).toBeGreaterThan(0);
    expect(runsAtTimer).toBeLessThan(real.runs());
  });
});

describe("job ids", () => {
  const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it("50,000 ids made at once are distinct version-4 UUIDs, and every random digit takes all its values", () => {
    const ids = Array.from({ length: 50_000 }, () => new JobState("ids").jobId);
    expect(ids.filter((id) => !V4.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const values = Array.from({ length: 36 }, (_, at) => new Set(ids.map((id) => id[at])).size);
    expect(values).toEqual([...Array(8).fill(16), 1, ...Array(4).fill(16), 1, 1, 16, 16, 16, 1, 4, 16, 16, 16, 1, ...Array(12).fill(16)]);
  });

  it("three processes started together make distinct ids", async () => {
    const child = (): Promise<string[]> => new Promise((resolve, reject) => {
      const process_ = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "job-ids-child.ts"), "2000"], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      process_.stdout.on("data", (chunk: Buffer) => void (out += chunk.toString()));
      process_.on("exit", (code) => (code === 0 ? resolve(out.trim().split("\n")) : reject(new Error(`child exited with ${String(code)}`))));
    });
    const ids = (await Promise.all([child(), child(), child()])).flat();
    expect(ids).toHaveLength(6000);
    expect(ids.filter((id) => !V4.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("retries", () => {
  it.each([["synchronously", true], ["asynchronously", false]] as const)(
    "a failed attempt (failing %s) leaves a callback behind: every write and emit it makes while the retry runs is refused",
    async (_label, synchronously) => {
      const clock = new SimulatedClock();
      const flow = new Flow({ flowId: "leftovers", clock });
      const retryRuns = gate();
      const outcomes: string[] = [];
      const step = routine({
        trigger: (_data, ctx, self) => {
          if (ctx.attempt > 1) {
            return (async () => {
              retryRuns.open();
              for (let i = 0; i < 3; i++) await Promise.resolve();
              ctx.shared.set("retry", ctx.attempt);
            })();
          }
          void retryRuns.wait.then(() => {
            const writes: Array<() => void> = [
              () => ctx.jobState.updateSharedData("late", 1), () => ctx.jobState.appendToSharedLog("late"),
              () => ctx.jobState.updateRoutineState("step", { late: true }), () => ctx.shared.set("late", 1),
              () => self.emit("out", {}), () => ctx.emit("out", {}), () => self.sendOutput("late", {}),
            ];
            for (const write of writes) {
              try {
                write();
                outcomes.push("accepted");
              } catch (error) {
                outcomes.push(/\(attempt 1\) of job .* failed, so its writes were discarded/.test((error as Error).message) ? "refused" : String(error));
              }
            }
          });
          if (synchronously) throw new Error("attempt 1 fails");
          return Promise.reject(new Error("attempt 1 fails"));
        },
      }, ["out"]);
      step.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 1, retryDelayMs: 10 }));
      flow.addRoutine(step, "step");
      const job = flow.execute("step");
      await clock.advance(20);
      await job.result();
      expect(outcomes).toEqual(Array.from({ length: 7 }, () => "refused"));
      expect([job.sharedData, job.sharedLog, job.outputLog.length]).toEqual([{ retry: 2 }, [], 0]);
    },
  );

  it.each([["memory", false], ["sqlite", true]] as const)(
    "%s: 20 concurrent activations, 8 of them failing once, read their own writes, and the counter they update ends at 20",
    async (_label, durable) => {
      await withStore(durable ? sqliteStore() : undefined, async (store) => {
        const flow = new Flow({ flowId: "counted", executionStrategy: "concurrent", maxWorkers: 5, store });
        const problems: string[] = [];
        let failures = 0;
        flow.addRoutine(routine({ trigger: (_data, _ctx, self) => { for (let i = 0; i < 20; i++) self.emit("item", { i }); } }, ["item"]), "src");
        const worker = routine({
          input: async (data, ctx) => {
            const i = data.i as number;
            await sleep(i % 3);
            ctx.shared.update<number>("count", (n) => (n ?? 0) + 1);
            ctx.jobState.updateSharedData(`own${i}`, ctx.attempt);
            ctx.jobState.appendToSharedLog({ i, attempt: ctx.attempt });
            await sleep(i % 2);
            const log = ctx.jobState.getSharedLog() as Array<{ i: number; attempt: number }>;
            if (ctx.jobState.getSharedData(`own${i}`) !== ctx.attempt || ctx.shared.get(`own${i}`) !== ctx.attempt) problems.push(`${i} reads another's value`);
            if (log.filter((e) => e.i === i).map((e) => e.attempt).join() !== String(ctx.attempt)) problems.push(`${i} log ${JSON.stringify(log)}`);
            if (ctx.attempt === 1 && i % 5 < 2) {
              failures++;
              throw new Error(`item ${i} fails once`);
            }
          },
        });
        worker.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 1, retryDelayMs: 1 }));
        flow.addRoutine(worker, "worker");
        flow.connect("src", "item", "worker", "input");
        const job = flow.execute("src");
        await job.result();
        expect(problems).toEqual([]);
        expect([job.status, failures, job.getSharedData("count"), job.sharedLog.length]).toEqual(["completed", 8, 20, 20]);
        await flow.shutdown();
      });
    },
  );

  it("a handler returning another job's promise fails its own job when that promise rejects; one settling only on cancel frees the worker", async () => {
    const flow = new Flow({ flowId: "borrowed", executionStrategy: "concurrent", maxWorkers: 2 });
    let borrowed: Promise<void> | undefined;
    const made = signal();
    flow.addRoutine(routine({
      trigger: (data, ctx) => {
        if (data.role === "owner") {
          borrowed = new Promise<void>((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
          made.resolve();
          return borrowed;
        }
        if (data.role === "borrower") return made.promise.then(() => borrowed);
        return sleep(1);
      },
    }), "node");
    const owner = flow.execute("node", { entryParams: { role: "owner" } });
    const borrower = flow.execute("node", { entryParams: { role: "borrower" } });
    await made.promise;
    await sleep(5);
    const waiting = flow.execute("node", { entryParams: { role: "other" } });
    await flow.cancel(owner);
    expect(await JobState.waitForCompletion(flow, borrower, { timeoutMs: 2000 })).toBe(true);
    expect(await JobState.waitForCompletion(flow, waiting, { timeoutMs: 2000 })).toBe(true);
    expect([owner.status, borrower.status, waiting.status]).toEqual(["cancelled", "failed", "completed"]);
    expect(borrower.executionHistory.find((r) => r.eventName === "error")?.data.errorType).toBe("CancelledError");
  });
});
