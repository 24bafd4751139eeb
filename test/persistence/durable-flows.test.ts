// What a flow with a store commits, and when: job-level changes, retries, merge buffers, late
// emits, state JSON cannot hold, and the guards around recover() and duplicate copies of a job.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
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
  type JobStore,
  type Payload,
} from "../../src/index.js";
import { gate, sleep } from "../fixtures/testing.js";

const flows: Flow[] = [];
const stores: JobStore[] = [];

afterEach(async () => {
  await Promise.allSettled(flows.splice(0).map((f) => f.shutdown()));
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
});

function newStore(): MemoryJobStore {
  const store = new MemoryJobStore();
  stores.push(store);
  return store;
}

function newFlow(store: JobStore | undefined, flowId: string, options: { concurrent?: boolean } = {}): Flow {
  const flow = new Flow({ flowId, store, ...(options.concurrent === true ? { executionStrategy: "concurrent", maxWorkers: 4 } : {}) });
  flows.push(flow);
  return flow;
}

type Handler = (this: Routine, data: Payload, job: JobState) => void | Promise<void>;

function routine(slots: Record<string, Handler>, events: string[] = []): Routine {
  const r = new Routine();
  for (const name of events) r.defineEvent(name);
  for (const [name, handler] of Object.entries(slots)) {
    r.defineSlot(name, function (this: Routine, data, ctx) {
      return handler.call(this, data, ctx.jobState);
    });
  }
  return r;
}

/** A flow whose entry pauses its job from inside the handler, and whose "next" routine runs on resume. */
function pausingFlow(store: JobStore): Flow {
  const flow = newFlow(store, "pausing");
  flow.addRoutine(routine({
    async trigger(this: Routine, _data, job) {
      this.emit("go", { n: 1 });
      await flow.pause(job, { reason: "a person decides" });
    },
  }, ["go"]), "first");
  flow.addRoutine(routine({
    input(_data, job) {
      job.appendToSharedLog({ answer: job.getSharedData("answer") });
    },
  }), "next");
  flow.connect("first", "go", "next", "input");
  return flow;
}

describe("a flow with a store", () => {
  it("takes only a JobStore as its store, and recover() needs one", async () => {
    expect(() => new Flow({ store: {} as JobStore })).toThrow(RoutiluxError);
    const flow = newFlow(undefined, "plain");
    expect(flow.store).toBeUndefined();
    await expect(flow.recover()).rejects.toThrow(/Flow 'plain' has no store/);
  });

  it("commits a change made outside any handler with the job's next commit", async () => {
    const store = newStore();
    const flow = pausingFlow(store);
    const job = flow.execute("first");
    await JobState.waitForCompletion(flow, job);
    expect(job.status).toBe("paused");
    job.updateSharedData("answer", "yes");
    flow.resume(job);
    await JobState.waitForCompletion(flow, job);
    const stored = (await store.loadJob(job.jobId))!;
    expect(stored.status).toBe("completed");
    expect(stored.getSharedData("answer")).toBe("yes");
    expect(stored.sharedLog).toEqual([{ answer: "yes" }]);
    expect(stored.serialize()).toEqual(job.serialize());
  });

  it("stores a retry waiting for its time, with its attempt and time", async () => {
    const store = newStore();
    const flow = newFlow(store, "retrying");
    let calls = 0;
    const flaky = routine({
      trigger() {
        if (++calls === 1) throw new Error("busy");
      },
    });
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 60_000 }));
    flow.addRoutine(flaky, "flaky");
    const job = flow.execute("flaky");
    for (let i = 0; i < 50 && !job.executionHistory.some((r) => r.eventName === "retry"); i++) await new Promise((resolve) => setImmediate(resolve));
    const stored = (await store.loadJob(job.jobId))!;
    expect(stored.pendingTasks).toHaveLength(1);
    expect(stored.pendingTasks[0]).toMatchObject({ routineId: "flaky", attempt: 2 });
    expect(stored.pendingTasks[0]!.notBefore).toBe(job.pendingTasks[0]!.notBefore);
    expect(stored.executionHistory.map((r) => r.eventName)).toEqual(["start", "error", "retry"]);
    await flow.cancel(job);
    expect((await store.loadJob(job.jobId))!.status).toBe("cancelled");
  });

  it("runs the retry of a handler that fails while its resumed job waits for the store to take it back", async () => {
    const store = newStore();
    const clock = new SimulatedClock();
    const flow = new Flow({ flowId: "retry-while-gated", store, clock });
    flows.push(flow);
    let release!: () => void;
    let calls = 0;
    const flaky = routine({
      async trigger() {
        if (++calls > 1) return;
        await new Promise<void>((resolve) => (release = resolve));
        throw new Error("busy");
      },
    });
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 1, retryDelayMs: 100 }));
    flow.addRoutine(flaky, "flaky");
    const job = await flow.start("flaky");
    while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
    const paused = flow.pause(job);
    // Resumed while its handler runs: the store takes the job back at the next turn, after the handler failed.
    flow.resume(job);
    release();
    await paused;
    await clock.advance(100);
    expect(calls).toBe(2);
    expect(await JobState.waitForCompletion(flow, job)).toBe(true);
    expect(job.status).toBe("completed");
  });

  it("stores a merging slot's buffer with the tasks that merged into it", async () => {
    const store = newStore();
    const flow = newFlow(store, "merging", { concurrent: true });
    flow.addRoutine(routine({
      trigger(this: Routine) {
        for (let i = 0; i < 3; i++) this.emit("item", { value: i });
      },
    }, ["item"]), "source");
    const sink = new Routine();
    sink.defineSlot("input", async (data, ctx) => {
      await new Promise((resolve) => setImmediate(resolve));
      ctx.jobState.updateSharedData("seen", data.value);
    }, { mergeStrategy: "append" });
    flow.addRoutine(sink, "sink");
    flow.connect("source", "item", "sink", "input");
    const job = flow.execute("source");
    await JobState.waitForCompletion(flow, job);
    const stored = (await store.loadJob(job.jobId))!;
    expect(stored.serialize().slotBuffers).toEqual([{ routineId: "sink", slotName: "input", data: { value: [0, 1, 2] } }]);
    expect(stored.serialize()).toEqual(job.serialize());
  });

  it("persists an emit made after its handler returned, while the job still runs", async () => {
    const store = newStore();
    const flow = newFlow(store, "late", { concurrent: true });
    flow.addRoutine(routine({
      trigger(this: Routine) {
        this.emit("busy");
        setTimeout(() => this.emit("later", { n: 1 }), 5);
      },
    }, ["busy", "later"]), "source");
    flow.addRoutine(routine({ input: () => new Promise((resolve) => setTimeout(resolve, 40)) }), "busy");
    flow.addRoutine(routine({ input: (_data, job) => job.appendToSharedLog("late work") }), "sink");
    flow.connect("source", "busy", "busy", "input");
    flow.connect("source", "later", "sink", "input");
    const job = flow.execute("source");
    await JobState.waitForCompletion(flow, job);
    expect(job.sharedLog).toEqual(["late work"]);
    const stored = (await store.loadJob(job.jobId))!;
    expect(stored.executionHistory.map((r) => r.eventName)).toContain("later");
    expect(stored.serialize()).toEqual(job.serialize());
  });

  it("refuses a value JSON cannot hold where it is written: the handler fails under its policy, and the store agrees", async () => {
    const store = newStore();
    const flow = newFlow(store, "bigint");
    flow.addRoutine(routine({
      trigger(this: Routine, data, job) {
        if (data.big === true) job.updateSharedData("total", 10n);
        this.emit("done");
      },
    }, ["done"]), "only");
    const bad = flow.execute("only", { entryParams: { big: true } });
    const good = flow.execute("only", { entryParams: { big: false } });
    await JobState.waitForCompletion(flow, bad);
    await JobState.waitForCompletion(flow, good);
    expect(bad.status).toBe("failed");
    const error = bad.executionHistory.find((r) => r.eventName === "error");
    expect(error?.data).toMatchObject({ errorType: "SerializationError" });
    expect(String(error?.data.error)).toMatch(/'sharedData\.total' is the BigInt 10n/);
    expect((await store.loadJob(bad.jobId))!.serialize()).toEqual(bad.serialize());
    expect((await store.loadJob(good.jobId))!.status).toBe("completed");
  });

  it("refuses to run a second copy of a job that is running in this process", async () => {
    const store = newStore();
    const flow = newFlow(store, "copies");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    flow.addRoutine(routine({ trigger: () => held }), "slow");
    const job = flow.execute("slow");
    const copy = (await store.loadJob(job.jobId))!;
    expect(copy.status).toBe("running");
    expect(() => flow.resume(copy)).toThrow(JobStateError);
    release();
    await JobState.waitForCompletion(flow, job);
    expect((await store.loadJob(job.jobId))!.status).toBe("completed");
  });

  it("keeps the lease of a job paused by its own handler while that handler runs: another process cannot recover it", async () => {
    const folder = mkdtempSync(join(tmpdir(), "routilux-held-"));
    const paused = gate();
    const finish = gate();
    try {
      const path = join(folder, "jobs.db");
      const store = new SqliteJobStore({ path, leaseMs: 300 });
      stores.push(store);
      const flow = newFlow(store, "held");
      flow.addRoutine(routine({
        async trigger(_data, job) {
          await flow.pause(job, { reason: "from inside" });
          paused.open();
          await finish.wait;
        },
      }), "only");
      const job = await flow.start("only");
      await paused.wait;
      // Well past the lease: the store still holds the job as running (its pause waits for the handler), under a renewed lease.
      await sleep(1000);
      const other = new SqliteJobStore({ path, leaseMs: 300 });
      stores.push(other);
      const elsewhere = newFlow(other, "held");
      elsewhere.addRoutine(routine({ trigger: () => undefined }), "only");
      expect(await elsewhere.recover()).toEqual([]);
      finish.open();
      expect(await job.result()).toMatchObject({ status: "paused" });
      expect((await other.loadJob(job.jobId))?.status).toBe("paused");
    } finally {
      finish.open();
      await Promise.allSettled(flows.splice(0).map((f) => f.shutdown()));
      await Promise.allSettled(stores.splice(0).map((s) => s.close()));
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("starts no activation past its lease by its own clock before a renewal confirms the lease, then carries on", async () => {
    const order: string[] = [];
    class CountingStore extends MemoryJobStore {
      override renewLeases(...args: Parameters<MemoryJobStore["renewLeases"]>): Promise<string[]> {
        order.push("renew");
        return super.renewLeases(...args);
      }
    }
    const store = new CountingStore({ leaseMs: 100 });
    stores.push(store);
    const flow = newFlow(store, "lapsed");
    flow.addRoutine(routine({
      trigger(this: Routine) {
        order.push("step 1");
        // Holds the event loop past the lease: no renewal can run meanwhile.
        const until = Date.now() + 250;
        while (Date.now() < until) { /* busy */ }
        this.emit("next");
      },
    }, ["next"]), "first");
    flow.addRoutine(routine({ input: () => void order.push("step 2") }), "second");
    flow.connect("first", "next", "second", "input");
    const job = await flow.start("first");
    expect(await job.result()).toMatchObject({ status: "completed" });
    const step1 = order.indexOf("step 1");
    const step2 = order.indexOf("step 2");
    expect(order.slice(step1 + 1, step2)).toContain("renew");
    expect(job.executionHistory.map((r) => r.eventName)).not.toContain("store_error");
  });

  it("close() writes what is still buffered, and a flow cannot run jobs on a closed store", async () => {
    const folder = mkdtempSync(join(tmpdir(), "routilux-close-"));
    try {
      const path = join(folder, "jobs.db");
      const store = new SqliteJobStore({ path });
      const flow = newFlow(store, "closing");
      flow.addRoutine(routine({ trigger: () => undefined }), "only");
      const job = flow.execute("only");
      await store.close();
      expect(() => flow.execute("only")).toThrow(/is closed/);
      const reopened = new SqliteJobStore({ path });
      stores.push(reopened);
      expect((await reopened.loadJob(job.jobId))?.jobId).toBe(job.jobId);
    } finally {
      await Promise.allSettled(stores.splice(0).map((s) => s.close()));
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("stored payloads", () => {
  it("keep every key JSON can hold, '__proto__' included", async () => {
    const store = newStore();
    const flow = newFlow(store, "keys");
    const odd = JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}') as Payload;
    flow.addRoutine(routine({
      trigger(this: Routine, _data, job) {
        job.appendToSharedLog(odd);
        this.emit("out", odd);
      },
    }, ["out"]), "only");
    const job = flow.execute("only", { entryParams: odd });
    await JobState.waitForCompletion(flow, job);
    expect(job.status).toBe("completed");
    const stored = (await store.loadJob(job.jobId))!;
    expect(Object.keys(stored.sharedLog[0] as object)).toEqual(["__proto__", "constructor"]);
    expect(Object.keys(stored.executionHistory[0]!.data)).toEqual(["__proto__", "constructor"]);
    expect(Object.keys(stored.executionHistory[1]!.data)).toEqual(["__proto__", "constructor"]);
  });
});
