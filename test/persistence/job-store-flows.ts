// The user-facing half of the conformance suite (see job-store-conformance.ts): what a store
// promises through flows. Durable start, every change persisted, stale copies and live owners
// refused, a lost lease stopping the job, recovery (paused jobs included, run time and merges
// counted once), and faults injected into commits: failing once, for good, after N commits, or
// stalling. "Another process" is a second handle on the same storage (a FaultyStore without
// faults): it has its own writer and lease owner.
import { afterEach, describe, expect, it } from "vitest";
import {
  Flow,
  JobState,
  JobStateError,
  Routine,
  SimulatedClock,
  StoreError,
  type CommitBatch,
  type CommitResult,
  type HandlerContext,
  type JobStore,
  type Payload,
} from "../../src/index.js";
import { gate, routine } from "../fixtures/testing.js";
import type { Opener, StoreOptions } from "./job-store-conformance.js";
import { FaultyStore } from "./faulty-store.js";

const HOUR = 3_600_000;

/** A chain step: appends to the shared log, counts, outputs, and emits the next step until `length`. */
class Step extends Routine {
  readonly #length: number;
  readonly #gate: { at: number; wait: Promise<void> } | undefined;

  constructor(entry: boolean, length: number, gate?: { at: number; wait: Promise<void> }) {
    super();
    this.#length = length;
    this.#gate = gate;
    this.defineSlot(entry ? "trigger" : "input", this.step);
    this.defineEvent("next", ["i"]);
  }

  async step(data: Payload, ctx: HandlerContext): Promise<void> {
    const i = data.i as number;
    ctx.jobState.appendToSharedLog({ i, pad: "x".repeat(200) });
    ctx.shared.update<number>("count", (count = 0) => count + 1);
    ctx.sendOutput("step", { i });
    if (this.#gate?.at === i) {
      await Promise.race([this.#gate.wait, new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))]);
    }
    if (i + 1 < this.#length) ctx.emit("next", { i: i + 1 });
  }
}

/** Two routines in a ring, `a -> b -> a ...`, for `length` steps in all. */
function ringFlow(store: JobStore, length: number, gate?: { at: number; wait: Promise<void> }, flowId = "ring"): Flow {
  const flow = new Flow({ flowId, store });
  const a = new Step(true, length, gate);
  a.defineSlot("input", a.step);
  flow.addRoutine(a, "a");
  flow.addRoutine(new Step(false, length, gate), "b");
  flow.connect("a", "next", "b", "input");
  flow.connect("b", "next", "a", "input");
  return flow;
}

/** A review flow: "work" outputs and stores a draft, then pauses the job for a person; "publish" runs on resume. */
function reviewFlow(store: JobStore, flowId = "review"): Flow {
  const flow = new Flow({ flowId, store });
  const work = new Routine();
  work.defineEvent("approved", ["draft"]);
  work.defineSlot("trigger", async function (this: Routine, data, ctx) {
    ctx.jobState.updateSharedData("draft", `draft of ${String(data.topic)}`);
    this.sendOutput("draft", { topic: data.topic });
    this.emitDeferredEvent("approved", { draft: data.topic });
    await ctx.flow.pause(ctx.jobState, { reason: "needs review", checkpoint: { question: "publish?" } });
  });
  const publish = new Routine();
  publish.defineSlot("input", function (this: Routine, data, ctx) {
    ctx.jobState.appendToSharedLog({ published: data.draft });
    this.sendOutput("published", { draft: data.draft });
  });
  flow.addRoutine(work, "work");
  flow.addRoutine(publish, "publish");
  flow.connect("work", "approved", "publish", "input");
  return flow;
}

/** A job that pauses at every stage: each resume runs the next stage, which pauses again, `stages` times. */
function stagesFlow(store: JobStore, stages: number): Flow {
  const flow = new Flow({ flowId: "stages", store });
  const stage = new Routine();
  stage.defineEvent("again", ["n"]);
  const run = async function (this: Routine, data: Payload, ctx: HandlerContext): Promise<void> {
    const n = (data.n as number | undefined) ?? 0;
    ctx.jobState.appendToSharedLog(n);
    if (n + 1 < stages) this.emitDeferredEvent("again", { n: n + 1 });
    await ctx.flow.pause(ctx.jobState, { reason: `stage ${n}` });
  };
  stage.defineSlot("trigger", run);
  stage.defineSlot("input", run);
  flow.addRoutine(stage, "stage");
  flow.connect("stage", "again", "stage", "input");
  return flow;
}

/** Lets handlers and commits run until `condition` holds (at most a few thousand turns, and at least 5 s for a store over a network). */
async function until(condition: () => boolean, turns = 5000): Promise<void> {
  const started = Date.now();
  for (let i = 0; (i < turns || Date.now() - started < 5000) && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function describeJobStoreFlows(open: Opener, options: { reopens?: boolean }): void {
  let flows: Flow[] = [];

  function track(flow: Flow): Flow {
    flows.push(flow);
    return flow;
  }

  /** A second handle on `store`'s storage, as another process would have. */
  function otherProcess(store: JobStore): FaultyStore {
    const other = new FaultyStore(store, { closesInner: false });
    open.adopt(other);
    return other;
  }

  function faulty(storeOptions: StoreOptions = {}): { store: JobStore; faulty: FaultyStore } {
    const { store } = open(storeOptions);
    const wrapped = new FaultyStore(store, { closesInner: false });
    open.adopt(wrapped);
    return { store, faulty: wrapped };
  }

  afterEach(async () => {
    await Promise.allSettled(flows.map((f) => f.shutdown()));
    flows = [];
  });

  describe("jobs run by flows", () => {
    it("a job run on a flow with the store loads back equal to the live job", async () => {
      const { store } = open();
      const flow = track(ringFlow(store, 12));
      const job = flow.execute("a", { entryParams: { i: 0 }, metadata: { request: 7 } });
      await JobState.waitForCompletion(flow, job);
      expect(job.status).toBe("completed");
      const loaded = (await store.loadJob(job.jobId))!;
      expect(loaded).not.toBe(job);
      expect(loaded.serialize()).toEqual(job.serialize());
      expect(loaded.revision).toBe(job.revision);
      expect(await store.loadJob("no-such-job")).toBeUndefined();
    });

    it("no handler runs before its job is in the store, and start() resolves once it is", async () => {
      const { store } = open();
      const flow = track(new Flow({ flowId: "durable-start", store, executionStrategy: "concurrent", maxWorkers: 8 }));
      const storedWhenRun: boolean[] = [];
      flow.addRoutine(routine({ trigger: async (_data, ctx) => void storedWhenRun.push((await store.readJob(ctx.jobState.jobId)) !== undefined) }), "only");
      const started = await flow.start("only");
      expect(await store.readJob(started.jobId)).toBeDefined();
      const more = Array.from({ length: 20 }, () => flow.execute("only"));
      await Promise.all([started, ...more].map((job) => job.result()));
      expect(storedWhenRun).toEqual(Array.from({ length: 21 }, () => true));
    });

    it("a handler's changes reach the store with its task's commit, never before", async () => {
      const { store } = open();
      const flow = track(new Flow({ flowId: "fork", store, executionStrategy: "concurrent", maxWorkers: 2 }));
      const slowGate = gate();
      let fastDone = false;
      const fork = new Routine();
      fork.defineEvent("go");
      fork.defineSlot("trigger", function (this: Routine) {
        this.emit("go");
      });
      const slow = new Routine();
      slow.defineSlot("input", async function (this: Routine, _data, ctx) {
        ctx.jobState.appendToSharedLog("slow");
        ctx.jobState.updateSharedData("slow", 1);
        this.sendOutput("slow");
        await slowGate.wait;
      });
      const fast = new Routine();
      fast.defineSlot("input", function (this: Routine, _data, ctx) {
        ctx.jobState.appendToSharedLog("fast");
        ctx.jobState.updateSharedData("fast", 1);
        this.sendOutput("fast");
        fastDone = true;
      });
      flow.addRoutine(fork, "fork");
      flow.addRoutine(slow, "slow");
      flow.addRoutine(fast, "fast");
      flow.connect("fork", "go", "slow", "input");
      flow.connect("fork", "go", "fast", "input");
      const job = flow.execute("fork");
      await until(() => fastDone && job.routineStates.fast?.status === "completed");
      const midway = (await store.loadJob(job.jobId))!;
      expect(midway.sharedLog).toEqual(["fast"]);
      expect(midway.sharedData).toEqual({ fast: 1 });
      expect(midway.outputLog.map((o) => o.outputType)).toEqual(["fast"]);
      expect(midway.pendingTasks.map((t) => t.routineId)).toEqual(["slow"]);
      // In this process the same holds: the slow handler's writes are its own until it succeeds.
      expect(job.sharedLog).toEqual(["fast"]);
      slowGate.open();
      await JobState.waitForCompletion(flow, job);
      const done = (await store.loadJob(job.jobId))!;
      expect([...done.sharedLog].sort()).toEqual(["fast", "slow"]);
      expect(done.sharedData).toEqual({ fast: 1, slow: 1 });
      expect(done.status).toBe("completed");
    });

    it("a paused job is stored as paused and resumes to completion from loadJob on another flow", async () => {
      const { store } = open();
      const first = track(reviewFlow(store));
      const job = first.execute("work", { entryParams: { topic: "q3" } });
      await JobState.waitForCompletion(first, job);
      expect(job.status).toBe("paused");
      const stored = (await store.loadJob(job.jobId))!;
      expect(stored.status).toBe("paused");
      expect(stored.checkpoint).toEqual({ question: "publish?" });
      expect(stored.deferredEvents).toHaveLength(1);
      expect(stored.pendingTasks).toEqual([]);
      expect((await store.listJobs({ status: "paused" })).map((s) => s.jobId)).toEqual([job.jobId]);
      const second = track(reviewFlow(otherProcess(store)));
      second.resume(stored);
      await JobState.waitForCompletion(second, stored);
      expect(stored.status).toBe("completed");
      const final = (await store.loadJob(job.jobId))!;
      expect(final.status).toBe("completed");
      expect(final.sharedLog).toEqual([{ published: "q3" }]);
      expect(final.outputLog.map((o) => o.outputType)).toEqual(["draft", "published"]);
      expect(final.executionHistory.filter((r) => r.eventName === "paused")).toHaveLength(1);
    });

    it("every change to a paused job is in the store without a resume", async () => {
      const { store } = open();
      const flow = track(reviewFlow(store));
      const job = flow.execute("work", { entryParams: { topic: "t" } });
      await JobState.waitForCompletion(flow, job);
      job.updateSharedData("reviewer", "ada");
      job.appendToSharedLog({ note: "looks fine" });
      job.updateRoutineState("work", { status: "completed", reviewed: true });
      job.metadata = { ...job.metadata, priority: 2 };
      job.recordExecution("work", "reviewed", { by: "ada" });
      const stored = (await store.loadJob(job.jobId))!;
      expect(stored.status).toBe("paused");
      expect(stored.getSharedData("reviewer")).toBe("ada");
      expect(stored.sharedLog).toEqual([{ note: "looks fine" }]);
      expect(stored.getRoutineState("work")).toEqual({ status: "completed", reviewed: true });
      expect(stored.metadata).toEqual({ priority: 2 });
      expect(stored.executionHistory.at(-1)).toMatchObject({ routineId: "work", eventName: "reviewed", data: { by: "ada" } });
      expect(stored.serialize()).toEqual(job.serialize());
    });

    it("a pause from one of the job's own handlers is stored with that handler's work, never before it", async () => {
      const { store } = open();
      const flow = track(new Flow({ flowId: "self-pause", store }));
      const hold = gate();
      const paused = gate();
      const step = new Routine();
      step.defineEvent("next");
      step.defineSlot("trigger", async (_data: Payload, ctx: HandlerContext) => {
        await ctx.flow.pause(ctx.jobState, { reason: "from inside" });
        paused.open();
        await hold.wait;
        ctx.jobState.updateSharedData("work", "done");
        ctx.emit("next");
      });
      step.defineSlot("input", () => undefined);
      flow.addRoutine(step, "step");
      flow.connect("step", "next", "step", "input");
      const job = await flow.start("step");
      await paused.wait;
      expect(job.status).toBe("paused");
      await sleep(20);
      const midway = (await store.loadJob(job.jobId))!;
      expect(midway.status).toBe("running");
      expect(midway.pendingTasks.map((t) => t.slotName)).toEqual(["trigger"]);
      hold.open();
      expect(await job.result()).toMatchObject({ status: "paused" });
      const stored = (await store.loadJob(job.jobId))!;
      expect(stored.status).toBe("paused");
      expect(stored.getSharedData("work")).toBe("done");
      expect(stored.pendingTasks.map((t) => t.slotName)).toEqual(["input"]);
      expect(stored.serialize()).toEqual(job.serialize());
    });

    it("a job waiting for input is stored waiting in the same commit as the task that asked", async () => {
      const { store } = open();
      const flow = track(new Flow({ flowId: "asks", store }));
      const ask = new Routine();
      ask.defineSlot("trigger", (_data: Payload, ctx: HandlerContext) => {
        ctx.jobState.updateSharedData("asked", true);
        ctx.waitForInput({ slot: "answer", prompt: "ok?" });
      });
      ask.defineSlot("answer", (data: Payload, ctx: HandlerContext) => ctx.jobState.updateSharedData("answer", data.ok));
      flow.addRoutine(ask, "ask");
      const job = await flow.start("ask");
      await job.result();
      const stored = (await store.loadJob(job.jobId))!;
      expect(stored.status).toBe("paused");
      expect(stored.waitingFor).toEqual([{ routineId: "ask", slotName: "answer", prompt: "ok?" }]);
      expect(stored.pendingTasks).toEqual([]);
      expect(stored.serialize()).toEqual(job.serialize());
      // Answered by id from another process: this process holds the job, so it applies the answer.
      const elsewhere = otherProcess(store);
      const other = track(new Flow({ flowId: "asks", store: elsewhere }));
      other.addRoutine(ask, "ask");
      await other.answer(job.jobId, "ask", "answer", { ok: true });
      expect(await job.result()).toMatchObject({ status: "completed", sharedData: { asked: true, answer: true } });
      expect((await store.loadJob(job.jobId))!.status).toBe("completed");
    });

    it("a control call by id reaches the process that holds the job; when none does, the caller takes the job from the store", async () => {
      const { store } = open();
      const holder = track(reviewFlow(store));
      const job = holder.execute("work", { entryParams: { topic: "remote" } });
      await JobState.waitForCompletion(holder, job);
      const elsewhere = otherProcess(store);
      const caller = track(reviewFlow(elsewhere));
      await caller.resume(job.jobId);
      expect(await job.result()).toMatchObject({ status: "completed" });
      const second = holder.execute("work", { entryParams: { topic: "left" } });
      await JobState.waitForCompletion(holder, second);
      await holder.shutdown();
      await caller.cancel(second.jobId, { reason: "nobody holds it" });
      const stored = (await elsewhere.loadJob(second.jobId))!;
      expect(stored.status).toBe("cancelled");
      expect(stored.executionHistory.at(-1)).toMatchObject({ eventName: "cancelled", data: { reason: "nobody holds it" } });
      await expect(caller.pause("no-such-job")).rejects.toThrow(/No job 'no-such-job'/);
      await expect(caller.cancel(second.jobId)).resolves.toBeUndefined();
    });

    it("a copy older than the store is refused on resume, naming both revisions, and the store keeps the newer state", async () => {
      const { store } = open();
      const flow = track(stagesFlow(store, 3));
      const job = flow.execute("stage");
      await JobState.waitForCompletion(flow, job);
      const copy = (await store.loadJob(job.jobId))!;
      flow.resume(job);
      await until(() => job.status === "paused" && job.sharedLog.length === 2);
      await JobState.waitForCompletion(flow, job);
      const newer = job.revision;
      expect(newer).toBeGreaterThan(copy.revision);
      // In this process the writer knows the newer revision: refused at once, nothing changes.
      expect(() => flow.resume(copy)).toThrow(new RegExp(`revision ${copy.revision}.*revision ${newer}`));
      expect(copy.status).toBe("paused");
      // Another process learns it from the store: the refusal comes through the copy's result().
      const elsewhere = track(stagesFlow(otherProcess(store), 3));
      elsewhere.resume(copy);
      await expect(copy.result()).rejects.toThrow(new RegExp(`revision ${copy.revision}.*revision ${newer}`));
      expect(copy.status).toBe("paused");
      const stored = (await store.readJob(job.jobId))!;
      expect(stored.commits.at(-1)?.seq ?? stored.snapshotSeq).toBe(newer);
      expect((await store.loadJob(job.jobId))!.sharedLog).toEqual([0, 1]);
    });

    it("a job another live process runs cannot be resumed here too; that process carries it on", async () => {
      const { store } = open();
      const halt = gate();
      const owner = track(ringFlow(store, 6, { at: 2, wait: halt.wait }));
      const job = owner.execute("a", { entryParams: { i: 0 } });
      await until(() => job.outputLog.length === 2);
      const copy = (await store.loadJob(job.jobId))!;
      expect(copy.status).toBe("running");
      const intruder = track(ringFlow(otherProcess(store), 6));
      intruder.resume(copy);
      const refusal = await copy.result().then(() => undefined, (error: unknown) => error);
      expect(refusal).toBeInstanceOf(JobStateError);
      expect(String((refusal as Error).message)).toMatch(/running in another process/);
      halt.open();
      await JobState.waitForCompletion(owner, job);
      expect(job.status).toBe("completed");
      expect(job.getSharedData("count")).toBe(6);
    });

    it("a process whose lease was taken stops the job at once: handlers are told, nothing more runs, waiters learn why, and it writes no more", async () => {
      const { store } = open({ leaseMs: 300 });
      const flow = track(new Flow({ flowId: "taken", store, executionStrategy: "concurrent", maxWorkers: 2 }));
      let reason: unknown;
      let ranAfter = 0;
      const hold = new Routine();
      hold.defineEvent("after");
      hold.defineSlot("trigger", async function (this: Routine, _data, ctx) {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        reason = ctx.signal.reason;
        this.emit("after");
      });
      flow.addRoutine(hold, "hold");
      flow.addRoutine(routine({ input: () => void ranAfter++ }), "after");
      flow.connect("hold", "after", "after", "input");
      const job = await flow.start("hold");
      const revision = (await store.readJob(job.jobId))!.commits.length;
      const thief = await store.claimJobs({ flowId: "taken", owner: "thief", nowMs: Date.now(), leaseUntilMs: Date.now() + HOUR, isOwnerGone: () => true });
      expect(thief.map((s) => s.jobId)).toEqual([job.jobId]);
      const error = await job.result().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(String((error as Error).message)).toMatch(/taken by another process/);
      expect(reason).toBe(error);
      await sleep(50);
      expect(ranAfter).toBe(0);
      await expect(JobState.waitForCompletion(flow, job)).rejects.toBe(error);
      const stored = (await store.readJob(job.jobId))!;
      expect(stored).toMatchObject({ leaseOwner: "thief", epoch: thief[0]!.epoch });
      expect(stored.commits.length).toBe(revision);
    });

    it("a process whose job another process took over and ended learns it from its next commit: its waiters get a StoreError", async () => {
      // The lease lasts long: the next commit, not a renewal, finds the job taken.
      const { store } = open();
      const flow = track(new Flow({ flowId: "ended-elsewhere", store }));
      const go = gate();
      const hold = new Routine();
      hold.defineEvent("after");
      hold.defineSlot("trigger", async function (this: Routine, _data, ctx) {
        await go.wait;
        ctx.shared.set("late", true);
        this.emit("after");
      });
      flow.addRoutine(hold, "hold");
      flow.addRoutine(routine({ input: () => undefined }), "after");
      flow.connect("hold", "after", "after", "input");
      const job = await flow.start("hold");
      const [taken] = await store.claimJobs({ flowId: "ended-elsewhere", owner: "thief", nowMs: Date.now(), leaseUntilMs: Date.now() + HOUR, isOwnerGone: () => true });
      const seq = taken!.commits.at(-1)?.seq ?? taken!.snapshotSeq;
      const ended = await store.commit({
        owner: "thief", nowMs: Date.now(), leaseUntilMs: Date.now() + HOUR,
        jobs: [{
          jobId: job.jobId, flowId: "ended-elsewhere", status: "completed", createdAtMs: 0, updatedAtMs: 0, previousSeq: seq, epoch: taken!.epoch,
          snapshot: { seq: seq + 1, data: taken!.snapshot }, commits: [],
        }],
      });
      expect(ended.fenced).toEqual([]);
      go.open();
      const error = await job.result().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(String((error as Error).message)).toMatch(new RegExp(`Job '${job.jobId}' was taken over by another process`));
      expect(await store.readJob(job.jobId)).toMatchObject({ status: "completed", epoch: taken!.epoch, commits: [] });
    });

    it("listJobs filters by flow and status, oldest first; deleteJob removes a job and its log", async () => {
      const { store } = open();
      const ring = track(ringFlow(store, 3));
      const review = track(reviewFlow(store));
      const a = ring.execute("a", { entryParams: { i: 0 }, metadata: { batch: "x" } });
      await JobState.waitForCompletion(ring, a);
      const b = review.execute("work", { entryParams: { topic: "x" } });
      await JobState.waitForCompletion(review, b);
      const c = ring.execute("a", { entryParams: { i: 0 }, metadata: { batch: "y" } });
      await JobState.waitForCompletion(ring, c);
      const all = await store.listJobs();
      expect(all.map((s) => s.jobId)).toEqual([a.jobId, b.jobId, c.jobId]);
      expect(all[0]).toMatchObject({ flowId: "ring", status: "completed", metadata: { batch: "x" }, revision: a.revision });
      expect(all[0]!.updatedAt.getTime()).toBeGreaterThanOrEqual(all[0]!.createdAt.getTime());
      expect((await store.listJobs({ flowId: "ring" })).map((s) => s.jobId)).toEqual([a.jobId, c.jobId]);
      expect((await store.listJobs({ flowId: "ring", metadata: { batch: "y" } })).map((s) => s.jobId)).toEqual([c.jobId]);
      expect((await store.listJobs({ flowId: "ring", status: "paused" }))).toEqual([]);
      expect((await store.listJobs({ status: "paused" })).map((s) => s.jobId)).toEqual([b.jobId]);
      await store.deleteJob(a.jobId);
      await store.deleteJob("no-such-job");
      expect(await store.loadJob(a.jobId)).toBeUndefined();
      expect(await store.readJob(a.jobId)).toBeUndefined();
      expect((await store.listJobs()).map((s) => s.jobId)).toEqual([b.jobId, c.jobId]);
    });

    it("a job that never rests gets snapshots, so it loads from a recent one and a short log; an ended job is one snapshot", async () => {
      const { store } = open();
      const halt = gate();
      const flow = track(ringFlow(store, 800, { at: 600, wait: halt.wait }));
      const job = flow.execute("a", { entryParams: { i: 0 } });
      await until(() => job.outputLog.length === 600);
      await store.loadJob(job.jobId);
      const midway = (await store.readJob(job.jobId))!;
      expect(midway.snapshotSeq).toBeGreaterThan(100);
      const logBytes = midway.commits.reduce((sum, c) => sum + c.data.length, 0);
      expect(logBytes).toBeLessThanOrEqual(Math.max(64 * 1024, midway.snapshot.length) + 4096);
      halt.open();
      await JobState.waitForCompletion(flow, job);
      const ended = (await store.readJob(job.jobId))!;
      expect(ended.commits).toEqual([]);
      expect((await store.loadJob(job.jobId))!.getSharedData("count")).toBe(800);
    });

    // Only stores with storage outside the process can be reopened; the others do not register this test.
    if (options.reopens === true) it("commits survive closing and reopening the storage", async () => {
      const subject = open();
      expect(subject.reopen).toBeTypeOf("function");
      const flow = track(ringFlow(subject.store, 5));
      const job = flow.execute("a", { entryParams: { i: 0 } });
      await JobState.waitForCompletion(flow, job);
      await flow.shutdown();
      await subject.store.close();
      const again = subject.reopen!();
      open.adopt(again);
      expect((await again.loadJob(job.jobId))!.serialize()).toEqual(job.serialize());
    });
  });

  describe("recovery", () => {
    /** Runs a ring job until step `at` blocks, then copies what is committed into `target` as a job whose owner died. */
    async function crashedCopy(target: JobStore, length: number, at: number): Promise<{ jobId: string; release: () => void }> {
      const { store: source } = open();
      const halt = gate();
      const flow = track(ringFlow(source, length, { at, wait: halt.wait }));
      const job = flow.execute("a", { entryParams: { i: 0 } });
      await until(() => job.outputLog.length === at);
      await source.loadJob(job.jobId);
      await copyStored(source, target, job.jobId);
      return { jobId: job.jobId, release: halt.open };
    }

    async function copyStored(source: JobStore, target: JobStore, jobId: string): Promise<void> {
      const stored = (await source.readJob(jobId))!;
      const result = await target.commit({
        owner: "a-process-that-died",
        nowMs: Date.now() - 2 * HOUR,
        leaseUntilMs: Date.now() - HOUR,
        jobs: [{
          jobId, flowId: stored.flowId, status: stored.status, createdAtMs: 0, updatedAtMs: 0, previousSeq: 0, epoch: 0, acquire: true,
          snapshot: { seq: stored.snapshotSeq, data: stored.snapshot }, commits: stored.commits,
        }],
      });
      expect(result.fenced).toEqual([]);
    }

    it("recover() carries on a job from its last committed task, recording every step once", async () => {
      const { store } = open();
      const { jobId, release } = await crashedCopy(store, 20, 7);
      const flow = track(ringFlow(store, 20));
      const [job, ...others] = await flow.recover();
      release();
      expect(others).toEqual([]);
      expect(job!.jobId).toBe(jobId);
      expect(job!.status).toBe("running");
      await JobState.waitForCompletion(flow, job!);
      expect(job!.status).toBe("completed");
      const steps = Array.from({ length: 20 }, (_, i) => i);
      expect(job!.outputLog.map((o) => o.data.i)).toEqual(steps);
      expect(job!.sharedLog.map((e) => (e as { i: number }).i)).toEqual(steps);
      expect(job!.getSharedData("count")).toBe(20);
      expect(job!.executionHistory.filter((r) => r.eventName === "recovered")).toHaveLength(1);
      expect((await store.loadJob(jobId))!.serialize()).toEqual(job!.serialize());
      expect(await flow.recover()).toEqual([]);
    });

    it("recover() leaves a job whose lease is live and ended jobs alone; paused jobs come back, still paused, only when asked for", async () => {
      const { store } = open();
      const live = otherProcess(store);
      const liveFlow = track(ringFlow(live, 4, { at: 1, wait: new Promise(() => undefined) }));
      const running = await liveFlow.start("a", { entryParams: { i: 0 } });
      const pausing = track(reviewFlow(store, "ring"));
      const paused = pausing.execute("work", { entryParams: { topic: "t" } });
      await JobState.waitForCompletion(pausing, paused);
      await pausing.shutdown();
      const done = track(ringFlow(store, 2, undefined, "ring")).execute("a", { entryParams: { i: 0 } });
      await done.result();
      const flow = track(reviewFlow(otherProcess(store), "ring"));
      expect(await flow.recover()).toEqual([]);
      const [back, ...others] = await flow.recover({ includePaused: true });
      expect(others).toEqual([]);
      expect(back!.jobId).toBe(paused.jobId);
      expect(back!.status).toBe("paused");
      expect(running.status).toBe("running");
      flow.resume(back!);
      await JobState.waitForCompletion(flow, back!);
      expect(back!.status).toBe("completed");
      expect(back!.sharedLog).toEqual([{ published: "t" }]);
    });

    it("recover() does not take a job this process is running or holds paused", async () => {
      const { store } = open();
      const halt = gate();
      const flow = track(ringFlow(store, 6, { at: 2, wait: halt.wait }));
      const job = flow.execute("a", { entryParams: { i: 0 } });
      await until(() => job.outputLog.length === 2);
      await store.loadJob(job.jobId);
      expect(await track(ringFlow(store, 6)).recover({ includePaused: true })).toEqual([]);
      halt.open();
      await JobState.waitForCompletion(flow, job);
      expect(job.getSharedData("count")).toBe(6);
    });

    it("shutdown hands back the leases of jobs left running, so another process recovers them at once", async () => {
      const { store } = open();
      const halt = gate();
      const first = track(ringFlow(store, 6, { at: 2, wait: halt.wait }));
      const job = await first.start("a", { entryParams: { i: 0 } });
      await until(() => job.outputLog.length === 2);
      await first.shutdown();
      expect((await store.readJob(job.jobId))!.leaseOwner).toBeNull();
      const second = track(ringFlow(otherProcess(store), 6));
      const [again] = await second.recover();
      expect(again!.jobId).toBe(job.jobId);
      await JobState.waitForCompletion(second, again!);
      expect(again!.status).toBe("completed");
      expect(again!.getSharedData("count")).toBe(6);
    });

    it("a recovered job's time limit counts the time it had already run", async () => {
      /** A chain whose steps each take 100 ms of the clock's time, for `steps` steps, then hold. */
      const build = (store: JobStore, clock: SimulatedClock, steps: number): Flow => {
        const flow = track(new Flow({ flowId: "timed", store, clock }));
        const step = new Routine();
        step.defineEvent("next", ["i"]);
        const run = async function (this: Routine, data: Payload, ctx: HandlerContext): Promise<void> {
          const i = (data.i as number | undefined) ?? 0;
          await new Promise((resolve) => {
            clock.setTimeout(() => resolve(undefined), i < steps ? 100 : 60_000);
            ctx.signal.addEventListener("abort", resolve);
          });
          if (!ctx.signal.aborted) this.emit("next", { i: i + 1 });
        };
        step.defineSlot("trigger", run);
        step.defineSlot("input", run);
        flow.addRoutine(step, "step");
        flow.connect("step", "next", "step", "input");
        return flow;
      };
      const { store: source } = open();
      const before = new SimulatedClock();
      const job = await build(source, before, 6).start("step", { timeoutMs: 1000 });
      for (let i = 0; i < 6; i++) {
        await before.advance(100);
        await until(() => job.executionHistory.filter((r) => r.eventName === "next").length === i + 1);
      }
      await source.loadJob(job.jobId);
      const { store } = open();
      await copyStored(source, store, job.jobId);
      expect((await store.loadJob(job.jobId))!.serialize().runningMs).toBe(600);
      const clock = new SimulatedClock();
      const flow = build(store, clock, 0);
      const [again] = await flow.recover();
      await clock.advance(350);
      expect(again!.status).toBe("running");
      await clock.advance(100);
      expect(again!.status).toBe("failed");
      expect(again!.executionHistory.filter((r) => r.eventName === "timeout")).toHaveLength(1);
    });

    it("a merging slot's contributions count once after recovery, whatever was in flight at the crash", async () => {
      const { store: source } = open();
      const held = gate();
      const build = (store: JobStore, hold: boolean): Flow => {
        const flow = track(new Flow({ flowId: "merge", store, executionStrategy: "concurrent", maxWorkers: 4 }));
        flow.addRoutine(routine({ trigger(_data, _ctx, self) {
          self.emit("item", { v: 1 });
          self.emit("item", { v: 2 });
        } }, ["item"]), "source");
        flow.addRoutine(routine({
          input: {
            mergeStrategy: "append",
            handler: async (data, ctx) => {
              const values = data.v as number[];
              if (hold && values.at(-1) === 1) await held.wait;
              ctx.jobState.updateSharedData(`seen${String(values.at(-1))}`, values);
            },
          },
        }), "collect");
        flow.connect("source", "item", "collect", "input");
        return flow;
      };
      const job = build(source, true).execute("source");
      await until(() => job.getSharedData("seen2") !== undefined);
      await source.loadJob(job.jobId);
      const { store } = open();
      await copyStored(source, store, job.jobId);
      const flow = build(store, false);
      const [again] = await flow.recover();
      await JobState.waitForCompletion(flow, again!);
      expect(again!.status).toBe("completed");
      expect(again!.getSharedData("seen2")).toEqual([1, 2]);
      // v=1 was in flight at the crash: it merges once more, after what was committed (v=2), and only once.
      expect(again!.getSharedData("seen1")).toEqual([2, 1]);
      expect(again!.serialize().slotBuffers).toEqual([{ routineId: "collect", slotName: "input", data: { v: [2, 1] } }]);
      held.open();
    });
  });

  describe("when the store fails", () => {
    it("a commit that fails once is retried: the job completes and the store holds all of it", async () => {
      const { store, faulty: wrapped } = faulty();
      const flow = track(ringFlow(wrapped, 10));
      wrapped.failNext(1);
      const job = await flow.start("a", { entryParams: { i: 0 } });
      wrapped.failNext(2);
      const result = await job.result();
      expect(result.status).toBe("completed");
      expect(wrapped.refused).toBe(3);
      expect((await store.loadJob(job.jobId))!.serialize()).toEqual(job.serialize());
    });

    it("a store failing for good: the job is never reported completed, its waiters learn the StoreError, and recover() carries it on from its last commit", async () => {
      const { store, faulty: wrapped } = faulty({ leaseMs: 300 });
      const halt = gate();
      const flow = track(ringFlow(wrapped, 10, { at: 5, wait: halt.wait }));
      const job = await flow.start("a", { entryParams: { i: 0 } });
      await until(() => job.outputLog.length === 5);
      await wrapped.loadJob(job.jobId);
      const waiting = JobState.waitForCompletion(flow, job).then(() => "resolved", (e: unknown) => e);
      wrapped.failForGood();
      halt.open();
      const error = await job.result().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(await waiting).toBe(error);
      const stored = (await store.loadJob(job.jobId))!;
      expect(stored.status).toBe("running");
      expect(stored.getSharedData("count")).toBe(5);
      await sleep(350);
      const elsewhere = track(ringFlow(otherProcess(store), 10));
      const [again] = await elsewhere.recover();
      await JobState.waitForCompletion(elsewhere, again!);
      expect(again!.status).toBe("completed");
      expect(again!.getSharedData("count")).toBe(10);
      expect(again!.outputLog.map((o) => o.data.i)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    });

    it("a row lists what its last commit holds, even when the job moved on while the write was on its way", async () => {
      const { store, faulty: wrapped } = faulty();
      const halt = gate();
      // Long enough to be running still when it is paused below.
      const flow = track(ringFlow(wrapped, 1_000_000, { at: 3, wait: halt.wait }));
      const job = await flow.start("a", { entryParams: { i: 0 } });
      await until(() => job.outputLog.length === 3);
      await wrapped.loadJob(job.jobId);
      wrapped.stall();
      halt.open();
      let pausing: Promise<unknown>;
      const committed = wrapped.committed;
      try {
        await until(() => wrapped.stalling === 1);
        // Writes of the running job queue behind the stalled one; the job is paused before they go,
        // and only the first of them lands: the pause is never written.
        await until(() => job.outputLog.length > 2000);
        pausing = flow.pause(job).then(() => "durable", (e: unknown) => e);
        await until(() => job.status === "paused");
      } finally {
        wrapped.heal();
        wrapped.failForGoodAfter(1);
      }
      await until(() => wrapped.committed === committed + 2);
      const listed = (await store.listJobs({ flowId: "ring" })).find((s) => s.jobId === job.jobId);
      const loaded = (await store.loadJob(job.jobId))!;
      expect(loaded.status).toBe("running");
      expect(listed).toMatchObject({ jobId: job.jobId, status: "running", revision: loaded.revision });
      expect(await pausing).toBeInstanceOf(StoreError);
    });

    it("a commit that fails while a later one is already on its way is retried first: the later one waits, and the job is not lost", async () => {
      const { store } = open();
      // A store whose commits settle a turn later, so a second write is handed over while the first is on its way.
      const wrapped = new (class extends FaultyStore {
        override async commit(batch: CommitBatch): Promise<CommitResult> {
          await new Promise((resolve) => setImmediate(resolve));
          return super.commit(batch);
        }
      })(store, { closesInner: false });
      open.adopt(wrapped);
      const flow = track(reviewFlow(wrapped));
      const job = await flow.start("work", { entryParams: { topic: "t" } });
      expect((await job.result()).status).toBe("paused");
      wrapped.failNext(1);
      job.updateSharedData("first", 1);
      const one = flow.pause(job).then(() => "durable", (e: unknown) => e);
      for (let i = 0; i < 5; i++) await Promise.resolve();
      job.updateSharedData("second", 2);
      const two = flow.pause(job).then(() => "durable", (e: unknown) => e);
      expect([await one, await two]).toEqual(["durable", "durable"]);
      expect(wrapped.refused).toBe(1);
      const stored = (await store.loadJob(job.jobId))!;
      expect(stored.sharedData).toMatchObject({ first: 1, second: 2 });
      flow.resume(job);
      expect((await job.result()).status).toBe("completed");
    });

    it("a commit that fails while shutdown hands a job back is retried before the lease goes; a pause waiting for it is not left hanging", async () => {
      const { store, faulty: wrapped } = faulty();
      const release = gate();
      let started = false;
      const flow = track(new Flow({ flowId: "hand-back", store: wrapped }));
      flow.addRoutine(routine({
        trigger: async (_data, _ctx, self) => {
          started = true;
          await release.wait;
          self.emit("out");
        },
      }, ["out"]), "slow");
      flow.addRoutine(routine({ input: () => undefined }), "next");
      flow.connect("slow", "out", "next", "input");
      const job = await flow.start("slow");
      await until(() => started);
      const pausing = flow.pause(job).then(() => "paused", (e: unknown) => e);
      flow.resume(job);
      await wrapped.loadJob(job.jobId);
      const stopping = flow.shutdown({ graceMs: 60_000 });
      // Both writes shutdown makes at once fail; the writer's retry goes through.
      wrapped.failNext(2);
      release.open();
      await stopping;
      expect(await Promise.race([pausing, sleep(2000).then(() => "still pausing")])).toBe("paused");
      // The store holds the job as shutdown left it: running, its next task pending, free for another process.
      const stored = (await store.loadJob(job.jobId))!;
      expect(stored.status).toBe("running");
      expect(stored.pendingTasks.map((t) => t.routineId)).toEqual(["next"]);
      const elsewhere = track(new Flow({ flowId: "hand-back", store: otherProcess(store) }));
      elsewhere.addRoutine(routine({ trigger: () => undefined }, ["out"]), "slow");
      elsewhere.addRoutine(routine({ input: () => undefined }), "next");
      const [again] = await elsewhere.recover();
      expect(await JobState.waitForCompletion(elsewhere, again!)).toBe(true);
      expect(again!.status).toBe("completed");
    });

    it("start() rejects with the StoreError when the store cannot take the job, and no handler runs", async () => {
      const { store, faulty: wrapped } = faulty();
      let ran = 0;
      const flow = track(new Flow({ flowId: "refused", store: wrapped }));
      flow.addRoutine(routine({ trigger: () => void ran++ }), "only");
      wrapped.failForGood();
      const error = await flow.start("only").then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(ran).toBe(0);
      expect(await store.listJobs()).toEqual([]);
    });

    it("a stalled commit holds the job's waiters, then counts as failed after leaseMs; shutdown still resolves", async () => {
      const { store, faulty: wrapped } = faulty({ leaseMs: 200 });
      const flow = track(ringFlow(wrapped, 4));
      const job = await flow.start("a", { entryParams: { i: 0 } });
      wrapped.stall();
      expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 100 })).toBe(false);
      const error = await job.result().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(String((error as Error).message)).toMatch(/did not finish a group commit within 200 ms/);
      await flow.shutdown();
      // The stalled commits go on once the storage does: the store then holds a whole state, never part of one.
      wrapped.heal();
      await sleep(20);
      const stored = (await store.loadJob(job.jobId))!;
      if (stored.status === "completed") expect(stored.getSharedData("count")).toBe(4);
      else expect(stored.getSharedData("count") ?? 0).toBeLessThan(4);
      expect(stored.outputLog.map((o) => o.data.i)).toEqual(Array.from({ length: stored.outputLog.length }, (_, i) => i));
    });

    it("whenever the store starts failing for good, each job either completes durably or is refused, and the store agrees", async () => {
      for (let after = 0; after < 8; after++) {
        const { store, faulty: wrapped } = faulty();
        const flow = track(new Flow({ flowId: `sweep-${after}`, store: wrapped, executionStrategy: "concurrent", maxWorkers: 3 }));
        const step = routine({ trigger: (data, ctx) => void ctx.shared.update<number>("n", (n = 0) => n + (data.k as number)) });
        flow.addRoutine(step, "only");
        wrapped.failForGoodAfter(after);
        const jobs = Array.from({ length: 4 }, (_, k) => flow.execute("only", { entryParams: { k } }));
        const outcomes = await Promise.all(jobs.map((job) => job.result().then((r) => r.status, (e: unknown) => e)));
        wrapped.heal();
        for (const [i, job] of jobs.entries()) {
          const stored = await store.loadJob(job.jobId);
          if (outcomes[i] === "completed") {
            expect(stored?.serialize(), `after ${after}: job ${i} reported completed`).toEqual(job.serialize());
          } else {
            expect(outcomes[i], `after ${after}: job ${i}`).toBeInstanceOf(StoreError);
            expect(stored?.status ?? "absent", `after ${after}: job ${i} refused`).not.toBe("completed");
          }
        }
        await flow.shutdown();
      }
    });
  });
}
