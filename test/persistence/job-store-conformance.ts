// The conformance suite every JobStore passes: `describeJobStore(name, factory)`. It checks the
// engine-facing contract (group commits, snapshots, fencing, leases, claims) with hand-made
// commits, and the user-facing one (load, list, delete, pause and resume, recovery) through flows.
// A new store (PostgreSQL, ...) reuses it as is.
import { afterEach, describe, expect, it } from "vitest";
import {
  Flow,
  JobState,
  Routine,
  StoreError,
  type CommitBatch,
  type ExecutionContext,
  type JobStore,
  type JobWrite,
  type Payload,
  type StoredCommit,
} from "../../src/index.js";
import { gate } from "../fixtures/testing.js";

/** A store to test, and how to open its storage again as another process would. */
export interface StoreUnderTest {
  store: JobStore;
  /** Opens the same storage again (omit when nothing outlives the instance, as in memory). */
  reopen?: () => JobStore;
  /** Removes what the test left (files); called after the stores are closed. */
  dispose?: () => void | Promise<void>;
}

// ---------------------------------------------------------------- hand-made commits

const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

function task(taskId: number): Payload {
  return { taskId, routineId: "r", slotName: "input", data: { i: taskId }, attempt: 1 };
}

/** A full-state commit of a job with history "start" and pending task 1. */
function base(jobId: string, flowId: string, seq = 1, status = "running"): StoredCommit {
  const data = {
    base: 1, id: jobId, f: flowId, s: status, u: T0, n: 2, j: { ca: T0, m: { who: "test" }, ck: null, to: null, rm: 0 },
    p: [task(1)], h: [["r", "start", {}, T0]], o: [], l: [], pp: [], d: [["n", 0]], r: [], b: [], e: [],
  };
  return { seq, data: JSON.stringify(data) };
}

/** The commit of task `i`: consumes it, adds task i + 1, records a step, an output and a log entry. */
function step(i: number, seq = i + 1, status = "running"): StoredCommit {
  const data = {
    s: status, u: T0 + i, n: i + 2, c: i, a: [task(i + 1)], h: [["r", "step", { i }, T0 + i]], o: [["r", "out", { i }, T0 + i]],
    l: [{ i }], d: [["n", i]],
  };
  return { seq, data: JSON.stringify(data) };
}

function write(jobId: string, flowId: string, parts: Partial<JobWrite>): JobWrite {
  return { jobId, flowId, status: "running", createdAtMs: T0, updatedAtMs: T0, commits: [], ...parts };
}

function batch(owner: string, jobs: JobWrite[], nowMs = T0, leaseUntilMs = nowMs + HOUR): CommitBatch {
  return { owner, nowMs, leaseUntilMs, jobs };
}

// ---------------------------------------------------------------- flows

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

  async step(data: Payload, ctx: ExecutionContext): Promise<void> {
    const job = ctx.jobState;
    const i = data.i as number;
    job.appendToSharedLog({ i, pad: "x".repeat(200) });
    job.updateSharedData("count", job.getSharedData<number>("count", 0) + 1);
    this.sendOutput("step", { i });
    if (this.#gate?.at === i) await this.#gate.wait;
    if (i + 1 < this.#length) this.emit("next", { i: i + 1 });
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

/** Lets handlers and commits run until `condition` holds (at most a few thousand turns). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
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

// ---------------------------------------------------------------- the suite

/**
 * Registers the conformance tests of one kind of store.
 * @param factory - makes a fresh, empty store for each test; a store whose storage outlives the
 *   instance (a file, a server) gives `reopen`, and its durability across instances is tested too
 */
export function describeJobStore(name: string, factory: () => StoreUnderTest, options: { reopens?: boolean } = {}): void {
  describe(`${name} conforms to the JobStore contract`, () => {
    const opened: JobStore[] = [];
    const cleanups: Array<() => void | Promise<void>> = [];
    let flows: Flow[] = [];

    function open(): StoreUnderTest {
      const subject = factory();
      opened.push(subject.store);
      if (subject.dispose !== undefined) cleanups.push(subject.dispose);
      return subject;
    }

    function track(flow: Flow): Flow {
      flows.push(flow);
      return flow;
    }

    afterEach(async () => {
      await Promise.allSettled(flows.map((f) => f.shutdown()));
      flows = [];
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    describe("commits, snapshots and fencing", () => {
      it("a group commit appends each job's commits, and loading replays them onto the snapshot", async () => {
        const { store } = open();
        const result = await store.commit(batch("A", [
          write("j1", "f", { snapshot: base("j1", "f"), commits: [step(1, 2), step(2, 3)] }),
          write("j2", "f", { snapshot: base("j2", "f") }),
        ]));
        expect(result.fenced).toEqual([]);
        const stored = await store.readJob("j1");
        expect(stored).toMatchObject({ jobId: "j1", flowId: "f", status: "running", snapshotSeq: 1 });
        expect(stored!.commits.map((c) => c.seq)).toEqual([2, 3]);
        const job = (await store.loadJob("j1"))!;
        expect(job.executionHistory.map((r) => r.eventName)).toEqual(["start", "step", "step"]);
        expect(job.outputLog.map((o) => o.data)).toEqual([{ i: 1 }, { i: 2 }]);
        expect(job.sharedLog).toEqual([{ i: 1 }, { i: 2 }]);
        expect(job.getSharedData("n")).toBe(2);
        expect(job.pendingTasks.map((t) => t.taskId)).toEqual([3]);
        expect(job.metadata).toEqual({ who: "test" });
        expect((await store.loadJob("j2"))!.pendingTasks.map((t) => t.taskId)).toEqual([1]);
      });

      it("a snapshot drops the log before it; later commits append after it", async () => {
        const { store } = open();
        await store.commit(batch("A", [write("j", "f", { snapshot: base("j", "f"), commits: [step(1, 2)] })]));
        await store.commit(batch("A", [write("j", "f", { commits: [step(2, 3)] })]));
        await store.commit(batch("A", [write("j", "f", { snapshot: base("j", "f", 3) })]));
        await store.commit(batch("A", [write("j", "f", { commits: [step(1, 4)] })]));
        const stored = (await store.readJob("j"))!;
        expect(stored.snapshotSeq).toBe(3);
        expect(stored.commits.map((c) => c.seq)).toEqual([4]);
        expect((await store.loadJob("j"))!.executionHistory.map((r) => r.eventName)).toEqual(["start", "step"]);
      });

      it("a commit that does not follow the stored log, or for a job the store lacks, is fenced and not written", async () => {
        const { store } = open();
        await store.commit(batch("A", [write("j", "f", { snapshot: base("j", "f") })]));
        const result = await store.commit(batch("A", [write("j", "f", { commits: [step(2, 3)] }), write("nobody", "f", { commits: [step(1, 2)] })]));
        expect([...result.fenced].sort()).toEqual(["j", "nobody"]);
        expect((await store.readJob("j"))!.commits).toEqual([]);
        expect(await store.readJob("nobody")).toBeUndefined();
      });

      it("a job leased to another owner is fenced until the lease expires", async () => {
        const { store } = open();
        await store.commit(batch("A", [write("j", "f", { snapshot: base("j", "f") })], T0, T0 + 1000));
        expect((await store.commit(batch("B", [write("j", "f", { commits: [step(1, 2)] })], T0 + 500))).fenced).toEqual(["j"]);
        expect((await store.commit(batch("B", [write("j", "f", { commits: [step(1, 2)] })], T0 + 2000))).fenced).toEqual([]);
        expect((await store.readJob("j"))!.commits.map((c) => c.seq)).toEqual([2]);
      });

      it("a job that has ended is never written again", async () => {
        const { store } = open();
        await store.commit(batch("A", [write("j", "f", { status: "completed", snapshot: base("j", "f", 1, "completed") })]));
        const result = await store.commit(batch("A", [write("j", "f", { snapshot: base("j", "f", 2) })]));
        expect(result.fenced).toEqual(["j"]);
        expect((await store.loadJob("j"))!.status).toBe("completed");
      });
    });

    describe("leases and claims", () => {
      it("each running job of a flow is claimed by one owner only", async () => {
        const { store } = open();
        await store.commit(batch("dead", [
          write("r1", "f", { snapshot: base("r1", "f") }),
          write("r2", "f", { snapshot: base("r2", "f") }),
          write("p", "f", { status: "paused", snapshot: base("p", "f", 1, "paused") }),
          write("other", "g", { snapshot: base("other", "g") }),
        ], T0, T0 + 10));
        const later = T0 + 100;
        const [first, second] = await Promise.all([
          store.claimJobs({ flowId: "f", owner: "B", nowMs: later, leaseUntilMs: later + HOUR }),
          store.claimJobs({ flowId: "f", owner: "C", nowMs: later, leaseUntilMs: later + HOUR }),
        ]);
        expect([...first, ...second].map((s) => s.jobId).sort()).toEqual(["r1", "r2"]);
        expect(first.length === 0 || second.length === 0).toBe(true);
        const claimed = [...first, ...second][0]!;
        expect(claimed.snapshotSeq).toBe(1);
        expect(JSON.parse(claimed.snapshot)).toMatchObject({ base: 1, id: claimed.jobId });
      });

      it("a lease is taken over when it expired, when its owner is gone, or when the caller holds it; excluded jobs are skipped", async () => {
        const { store } = open();
        await store.commit(batch("A", [write("a", "f", { snapshot: base("a", "f") })], T0, T0 + HOUR));
        await store.commit(batch("B", [write("b", "f", { snapshot: base("b", "f") })], T0, T0 + HOUR));
        await store.commit(batch("C", [write("c", "f", { snapshot: base("c", "f") })], T0, T0 + 10));
        await store.commit(batch("D", [write("d", "f", { snapshot: base("d", "f") })], T0, T0 + HOUR));
        const claimed = await store.claimJobs({
          flowId: "f", owner: "D", nowMs: T0 + 100, leaseUntilMs: T0 + HOUR, exclude: new Set(["a"]), isOwnerGone: (owner) => owner === "A" || owner === "B",
        });
        expect(claimed.map((s) => s.jobId).sort()).toEqual(["b", "c", "d"]);
        expect(await store.claimJobs({ flowId: "f", owner: "E", nowMs: T0 + 200, leaseUntilMs: T0 + HOUR })).toEqual([]);
      });

      it("renewing extends only the owner's leases, and releasing frees them", async () => {
        const { store } = open();
        await store.commit(batch("A", [write("a", "f", { snapshot: base("a", "f") })], T0, T0 + 10));
        await store.commit(batch("B", [write("b", "f", { snapshot: base("b", "f") })], T0, T0 + 10));
        await store.renewLeases("A", T0 + HOUR);
        const claimed = await store.claimJobs({ flowId: "f", owner: "C", nowMs: T0 + 100, leaseUntilMs: T0 + HOUR });
        expect(claimed.map((s) => s.jobId)).toEqual(["b"]);
        await store.releaseLeases("A");
        expect((await store.claimJobs({ flowId: "f", owner: "D", nowMs: T0 + 100, leaseUntilMs: T0 + HOUR })).map((s) => s.jobId)).toEqual(["a"]);
      });
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
        expect(await store.loadJob("no-such-job")).toBeUndefined();
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
        const second = track(reviewFlow(store));
        second.resume(stored);
        await JobState.waitForCompletion(second, stored);
        expect(stored.status).toBe("completed");
        const final = (await store.loadJob(job.jobId))!;
        expect(final.status).toBe("completed");
        expect(final.sharedLog).toEqual([{ published: "q3" }]);
        expect(final.outputLog.map((o) => o.outputType)).toEqual(["draft", "published"]);
        expect(final.executionHistory.filter((r) => r.eventName === "paused")).toHaveLength(1);
      });

      it("listJobs filters by flow and status, oldest first; deleteJob removes a job and its log", async () => {
        const { store } = open();
        const ring = track(ringFlow(store, 3));
        const review = track(reviewFlow(store));
        const a = ring.execute("a", { entryParams: { i: 0 } });
        await JobState.waitForCompletion(ring, a);
        const b = review.execute("work", { entryParams: { topic: "x" } });
        await JobState.waitForCompletion(review, b);
        const c = ring.execute("a", { entryParams: { i: 0 } });
        await JobState.waitForCompletion(ring, c);
        const all = await store.listJobs();
        expect(all.map((s) => s.jobId)).toEqual([a.jobId, b.jobId, c.jobId]);
        expect(all[0]).toMatchObject({ flowId: "ring", status: "completed" });
        expect(all[0]!.createdAt).toBeInstanceOf(Date);
        expect(all[0]!.updatedAt.getTime()).toBeGreaterThanOrEqual(all[0]!.createdAt.getTime());
        expect((await store.listJobs({ flowId: "ring" })).map((s) => s.jobId)).toEqual([a.jobId, c.jobId]);
        expect((await store.listJobs({ flowId: "ring", status: "paused" }))).toEqual([]);
        expect((await store.listJobs({ status: "paused" })).map((s) => s.jobId)).toEqual([b.jobId]);
        await store.deleteJob(a.jobId);
        await store.deleteJob("no-such-job");
        expect(await store.loadJob(a.jobId)).toBeUndefined();
        expect(await store.readJob(a.jobId)).toBeUndefined();
        expect((await store.listJobs()).map((s) => s.jobId)).toEqual([b.jobId, c.jobId]);
      });

      it("a long job loads from a recent snapshot and a short log, and an ended job is one snapshot", async () => {
        const { store } = open();
        const halt = gate();
        const flow = track(ringFlow(store, 800, { at: 600, wait: halt.wait }));
        const job = flow.execute("a", { entryParams: { i: 0 } });
        await until(() => job.outputLog.length === 601);
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
        opened.push(again);
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
        await until(() => job.outputLog.length === at + 1);
        await source.loadJob(job.jobId);
        const stored = (await source.readJob(job.jobId))!;
        await target.commit(batch("a-process-that-died", [write(job.jobId, "ring", {
          snapshot: { seq: stored.snapshotSeq, data: stored.snapshot },
          commits: stored.commits,
        })], Date.now() - 2 * HOUR, Date.now() - HOUR));
        return { jobId: job.jobId, release: halt.open };
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

      it("recover() leaves a job whose lease is live, and paused and ended jobs, alone", async () => {
        const { store } = open();
        await store.commit(batch("a-live-process", [write("live", "ring", { snapshot: base("live", "ring") })], Date.now(), Date.now() + HOUR));
        const paused = track(reviewFlow(store, "ring"));
        const job = paused.execute("work", { entryParams: { topic: "t" } });
        await JobState.waitForCompletion(paused, job);
        const flow = track(ringFlow(store, 3));
        expect(await flow.recover()).toEqual([]);
        expect((await store.loadJob(job.jobId))!.status).toBe("paused");
      });

      it("recover() does not take a job this process is running", async () => {
        const { store } = open();
        const halt = gate();
        const flow = track(ringFlow(store, 6, { at: 2, wait: halt.wait }));
        const job = flow.execute("a", { entryParams: { i: 0 } });
        await until(() => job.outputLog.length === 3);
        await store.loadJob(job.jobId);
        expect(await track(ringFlow(store, 6)).recover()).toEqual([]);
        halt.open();
        await JobState.waitForCompletion(flow, job);
        expect(job.getSharedData("count")).toBe(6);
      });
    });

    describe("closing", () => {
      it("after close every method rejects with a StoreError, and close again is harmless", async () => {
        const { store } = open();
        await store.close();
        await store.close();
        await expect(store.loadJob("j")).rejects.toBeInstanceOf(StoreError);
        await expect(store.listJobs()).rejects.toBeInstanceOf(StoreError);
        await expect(store.deleteJob("j")).rejects.toBeInstanceOf(StoreError);
        await expect(store.commit(batch("A", []))).rejects.toBeInstanceOf(StoreError);
        await expect(store.claimJobs({ flowId: "f", owner: "A", nowMs: T0, leaseUntilMs: T0 })).rejects.toBeInstanceOf(StoreError);
        expect(() => ringFlow(store, 3).execute("a", { entryParams: { i: 0 } })).toThrow(StoreError);
      });
    });
  });
}
