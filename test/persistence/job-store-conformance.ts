// The conformance suite every JobStore passes: `describeJobStore(name, factory)`. This file
// checks the engine-facing contract with hand-made commits (group commits, snapshots, revisions,
// fencing epochs, leases, claims, listing); job-store-flows.ts checks the user-facing promises
// through flows, with injected faults. A new store (PostgreSQL, ...) reuses both as they are.
import { afterEach, describe, expect, it } from "vitest";
import {
  RoutiluxError,
  StoreError,
  type CommitBatch,
  type JobStore,
  type JobWrite,
  type Payload,
  type StoredCommit,
} from "../../src/index.js";
import { describeJobStoreFlows } from "./job-store-flows.js";

/** A store to test, and how to open its storage again as another process would. */
export interface StoreUnderTest {
  store: JobStore;
  /** Opens the same storage again (omit when nothing outlives the instance, as in memory). */
  reopen?: () => JobStore;
  /** Removes what the test left (files, databases); called after the stores are closed. */
  dispose?: () => void | Promise<void>;
}

/** What a test may ask of the store it opens. */
export interface StoreOptions {
  leaseMs?: number;
}

/** Opens stores for one test and closes them after it. */
export interface Opener {
  (options?: StoreOptions): StoreUnderTest;
  /** Registers a store opened another way, to close after the test. */
  adopt(store: JobStore): void;
}

// ---------------------------------------------------------------- hand-made commits

const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

function task(taskId: number): Payload {
  return { taskId, routineId: "r", slotName: "input", data: { i: taskId }, attempt: 1 };
}

/** A full-state commit of a job with history "start" and pending task 1. */
function base(jobId: string, flowId: string, seq = 1, status = "running", metadata: Payload = { who: "test" }): StoredCommit {
  const data = {
    base: 1, id: jobId, f: flowId, s: status, u: T0, n: 2, j: { ca: T0, m: metadata, ck: null, to: null, rm: 0 },
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

/** A new job: acquired at revision 0 with its base snapshot. */
function create(jobId: string, flowId: string, parts: Partial<JobWrite> = {}): JobWrite {
  return write(jobId, flowId, { acquire: true, previousSeq: 0, snapshot: base(jobId, flowId, 1, parts.status ?? "running"), ...parts });
}

function write(jobId: string, flowId: string, parts: Partial<JobWrite>): JobWrite {
  return { jobId, flowId, status: "running", createdAtMs: T0, updatedAtMs: T0, previousSeq: 1, epoch: 1, commits: [], ...parts };
}

function batch(owner: string, jobs: JobWrite[], nowMs = T0, leaseUntilMs = nowMs + HOUR): CommitBatch {
  return { owner, nowMs, leaseUntilMs, jobs };
}

// ---------------------------------------------------------------- the suite

/**
 * Registers the conformance tests of one kind of store.
 * @param factory - makes a fresh, empty store for each test; a store whose storage outlives the
 *   instance (a file, a server) gives `reopen`, and its durability across instances is tested too
 */
export function describeJobStore(
  name: string,
  factory: (options: StoreOptions) => StoreUnderTest,
  options: { reopens?: boolean } = {},
): void {
  describe(`${name} conforms to the JobStore contract`, () => {
    const opened: JobStore[] = [];
    const cleanups: Array<() => void | Promise<void>> = [];

    const open = Object.assign((storeOptions: StoreOptions = {}): StoreUnderTest => {
      const subject = factory(storeOptions);
      opened.push(subject.store);
      if (subject.dispose !== undefined) cleanups.push(subject.dispose);
      return subject;
    }, { adopt: (store: JobStore) => void opened.push(store) }) as Opener;

    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    describe("commits, snapshots and revisions", () => {
      it("a new job is acquired at revision 0 with epoch 1; loading replays its commits onto the snapshot", async () => {
        const { store } = open();
        const result = await store.commit(batch("A", [
          create("j1", "f", { commits: [step(1, 2), step(2, 3)] }),
          create("j2", "f"),
        ]));
        expect(result.fenced).toEqual([]);
        expect(result.epochs).toEqual({ j1: 1, j2: 1 });
        const stored = await store.readJob("j1");
        expect(stored).toMatchObject({ jobId: "j1", flowId: "f", status: "running", snapshotSeq: 1, epoch: 1, leaseOwner: "A", leaseUntilMs: T0 + HOUR });
        expect(stored!.commits.map((c) => c.seq)).toEqual([2, 3]);
        const job = (await store.loadJob("j1"))!;
        expect(job.revision).toBe(3);
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
        await store.commit(batch("A", [create("j", "f", { commits: [step(1, 2)] })]));
        await store.commit(batch("A", [write("j", "f", { previousSeq: 2, commits: [step(2, 3)] })]));
        await store.commit(batch("A", [write("j", "f", { previousSeq: 3, snapshot: base("j", "f", 4) })]));
        await store.commit(batch("A", [write("j", "f", { previousSeq: 4, commits: [step(1, 5)] })]));
        const stored = (await store.readJob("j"))!;
        expect(stored.snapshotSeq).toBe(4);
        expect(stored.commits.map((c) => c.seq)).toEqual([5]);
        expect((await store.loadJob("j"))!.executionHistory.map((r) => r.eventName)).toEqual(["start", "step"]);
      });

      it("a write that does not follow the stored revision, or for a job the store lacks, is fenced and writes nothing", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("j", "f")]));
        const result = await store.commit(batch("A", [
          write("j", "f", { previousSeq: 2, commits: [step(2, 3)] }),
          write("nobody", "f", { commits: [step(1, 2)] }),
          create("j", "f"),
        ]));
        expect([...result.fenced].sort((a, b) => a.reason.localeCompare(b.reason))).toEqual([
          { jobId: "j", reason: "exists", storedSeq: 1 },
          { jobId: "nobody", reason: "missing" },
          { jobId: "j", reason: "revision", storedSeq: 1 },
        ]);
        expect((await store.readJob("j"))!.commits).toEqual([]);
        expect(await store.readJob("nobody")).toBeUndefined();
      });

      it("a part fenced off does not stop the other parts of the same group commit", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("a", "f"), create("b", "f")]));
        const result = await store.commit(batch("A", [
          write("a", "f", { previousSeq: 7, commits: [step(1, 8)] }),
          write("b", "f", { commits: [step(1, 2)] }),
        ]));
        expect(result.fenced.map((f) => f.jobId)).toEqual(["a"]);
        expect((await store.readJob("b"))!.commits.map((c) => c.seq)).toEqual([2]);
      });

      it("a job that has ended is never written again, not even by acquiring it", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("j", "f", { status: "completed", snapshot: base("j", "f", 1, "completed") })]));
        const result = await store.commit(batch("A", [
          write("j", "f", { snapshot: base("j", "f", 2) }),
        ]));
        expect(result.fenced).toEqual([{ jobId: "j", reason: "ended", storedSeq: 1 }]);
        const again = await store.commit(batch("B", [write("j", "f", { acquire: true, snapshot: base("j", "f", 2) })]));
        expect(again.fenced).toEqual([{ jobId: "j", reason: "ended", storedSeq: 1 }]);
        expect((await store.loadJob("j"))!.status).toBe("completed");
        expect((await store.readJob("j"))!.leaseOwner).toBeNull();
      });
    });

    describe("fencing epochs and leases", () => {
      it("acquiring a job leased to a live owner is refused until its lease expires or its owner is gone", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("j", "f")], T0, T0 + 1000));
        const take = (nowMs: number, isOwnerGone?: (owner: string) => boolean): Promise<unknown> =>
          store.commit({ ...batch("B", [write("j", "f", { acquire: true, snapshot: base("j", "f", 2) })], nowMs), ...(isOwnerGone === undefined ? {} : { isOwnerGone }) });
        expect(await take(T0 + 500)).toEqual({ fenced: [{ jobId: "j", reason: "leased", leaseOwner: "A" }], epochs: {} });
        expect(await take(T0 + 500, (owner) => owner === "A")).toEqual({ fenced: [], epochs: { j: 2 } });
        expect(await store.readJob("j")).toMatchObject({ epoch: 2, leaseOwner: "B", snapshotSeq: 2 });
      });

      it("once another owner took the job, the old owner's writes are fenced by their epoch", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("j", "f")], T0, T0 + 10));
        const claimed = await store.claimJobs({ flowId: "f", owner: "B", nowMs: T0 + 100, leaseUntilMs: T0 + HOUR });
        expect(claimed.map((s) => [s.jobId, s.epoch])).toEqual([["j", 2]]);
        // A stalled past its lease, then tries to go on: refused even at the right revision.
        const late = await store.commit(batch("A", [write("j", "f", { epoch: 1, commits: [step(1, 2)] })], T0 + 200));
        expect(late.fenced).toEqual([{ jobId: "j", reason: "epoch", storedSeq: 1 }]);
        const owner = await store.commit(batch("B", [write("j", "f", { epoch: 2, commits: [step(1, 2)] })], T0 + 200));
        expect(owner.fenced).toEqual([]);
        expect((await store.readJob("j"))!.commits.map((c) => c.seq)).toEqual([2]);
      });

      it("resuming a paused job takes it at its revision and raises its epoch; a stale copy's revision is refused", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("j", "f", { status: "paused", snapshot: base("j", "f", 1, "paused") })]));
        expect((await store.readJob("j"))!.leaseOwner).toBeNull();
        await store.commit(batch("A", [write("j", "f", { status: "paused", previousSeq: 1, commits: [step(1, 2, "paused")] })]));
        const stale = await store.commit(batch("B", [write("j", "f", { acquire: true, previousSeq: 1, snapshot: base("j", "f", 2) })]));
        expect(stale.fenced).toEqual([{ jobId: "j", reason: "revision", storedSeq: 2 }]);
        const fresh = await store.commit(batch("B", [write("j", "f", { acquire: true, previousSeq: 2, snapshot: base("j", "f", 3) })]));
        expect(fresh).toEqual({ fenced: [], epochs: { j: 2 } });
        expect(await store.readJob("j")).toMatchObject({ status: "running", epoch: 2, leaseOwner: "B", snapshotSeq: 3, commits: [] });
      });

      it("each running job of a flow is claimed by one owner only, raising its epoch; paused jobs come only when asked for", async () => {
        const { store } = open();
        await store.commit(batch("dead", [
          create("r1", "f"),
          create("r2", "f"),
          create("p", "f", { status: "paused", snapshot: base("p", "f", 1, "paused") }),
          create("other", "g"),
        ], T0, T0 + 10));
        const later = T0 + 100;
        const [first, second] = await Promise.all([
          store.claimJobs({ flowId: "f", owner: "B", nowMs: later, leaseUntilMs: later + HOUR }),
          store.claimJobs({ flowId: "f", owner: "C", nowMs: later, leaseUntilMs: later + HOUR }),
        ]);
        expect([...first, ...second].map((s) => s.jobId).sort()).toEqual(["r1", "r2"]);
        expect(first.length === 0 || second.length === 0).toBe(true);
        const claimed = [...first, ...second][0]!;
        expect(claimed).toMatchObject({ snapshotSeq: 1, epoch: 2 });
        expect(JSON.parse(claimed.snapshot)).toMatchObject({ base: 1, id: claimed.jobId });
        const paused = await store.claimJobs({ flowId: "f", owner: "D", nowMs: later, leaseUntilMs: later + HOUR, includePaused: true });
        expect(paused.map((s) => [s.jobId, s.status, s.epoch, s.leaseOwner])).toEqual([["p", "paused", 1, null]]);
      });

      it("a claimed job comes as readJob then gives it: its snapshot, the commits after it, its raised epoch and lease; with limit, those waiting longest", async () => {
        const { store } = open();
        const at = (jobId: string, ms: number, parts: Partial<JobWrite>): JobWrite => ({ ...create(jobId, "f", parts), createdAtMs: ms, updatedAtMs: ms });
        await store.commit(batch("dead", [
          at("newest", T0 + 3, { commits: [step(1, 2)] }),
          at("oldest", T0 + 1, { commits: [step(1, 2), step(2, 3), step(3, 4)] }),
          at("middle", T0 + 2, {}),
          at("held", T0 + 4, { status: "paused", snapshot: base("held", "f", 1, "paused"), commits: [step(1, 2, "paused")] }),
        ], T0, T0 + 10));
        // A later snapshot drops the commits before it: only those after it come with the job.
        await store.commit(batch("dead", [write("middle", "f", { snapshot: base("middle", "f", 5), commits: [step(5, 6)] })], T0, T0 + 10));
        const later = T0 + 100;
        const first = await store.claimJobs({ flowId: "f", owner: "B", nowMs: later, leaseUntilMs: later + HOUR, limit: 2, includePaused: true });
        expect(first.map((s) => s.jobId)).toEqual(["oldest", "middle", "held"]);
        const rest = await store.claimJobs({ flowId: "f", owner: "C", nowMs: later, leaseUntilMs: later + HOUR });
        expect(rest.map((s) => s.jobId)).toEqual(["newest"]);
        for (const claimed of [...first, ...rest]) expect(claimed).toEqual(await store.readJob(claimed.jobId));
        expect(first[0]).toMatchObject({ status: "running", snapshotSeq: 1, epoch: 2, leaseOwner: "B", leaseUntilMs: later + HOUR });
        expect(first[0]!.commits.map((c) => c.seq)).toEqual([2, 3, 4]);
        expect(first[0]!.commits[2]).toEqual(step(3, 4));
        expect(first[1]).toMatchObject({ snapshotSeq: 5, commits: [step(5, 6)] });
        expect(first[2]).toMatchObject({ status: "paused", epoch: 1, leaseOwner: null, commits: [step(1, 2, "paused")] });
      });

      it("a lease is taken over when it expired, when its owner is gone, or when the caller holds it; excluded jobs are skipped", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("a", "f")], T0, T0 + HOUR));
        await store.commit(batch("B", [create("b", "f")], T0, T0 + HOUR));
        await store.commit(batch("C", [create("c", "f")], T0, T0 + 10));
        await store.commit(batch("D", [create("d", "f")], T0, T0 + HOUR));
        const claimed = await store.claimJobs({
          flowId: "f", owner: "D", nowMs: T0 + 100, leaseUntilMs: T0 + HOUR, exclude: new Set(["a"]), isOwnerGone: (owner) => owner === "A" || owner === "B",
        });
        expect(claimed.map((s) => s.jobId).sort()).toEqual(["b", "c", "d"]);
        expect(await store.claimJobs({ flowId: "f", owner: "E", nowMs: T0 + 200, leaseUntilMs: T0 + HOUR })).toEqual([]);
      });

      it("renewing extends the leases the owner still holds and names those it lost; releasing frees them", async () => {
        const { store } = open();
        await store.commit(batch("A", [create("a", "f"), create("lost", "f"), create("done", "f")], T0, T0 + 10));
        await store.commit(batch("B", [create("b", "f")], T0, T0 + 10));
        await store.claimJobs({ flowId: "f", owner: "C", nowMs: T0 + 100, leaseUntilMs: T0 + 200, exclude: new Set(["a", "done"]) });
        await store.commit(batch("A", [write("done", "f", { status: "completed", commits: [step(1, 2, "completed")] })], T0 + 5));
        const gone = await store.renewLeases("A", T0 + HOUR, [
          { jobId: "a", epoch: 1 }, { jobId: "lost", epoch: 1 }, { jobId: "done", epoch: 1 }, { jobId: "deleted", epoch: 1 },
        ]);
        expect(gone.sort()).toEqual(["deleted", "done", "lost"]);
        expect((await store.claimJobs({ flowId: "f", owner: "D", nowMs: T0 + 300, leaseUntilMs: T0 + HOUR })).map((s) => s.jobId).sort()).toEqual(["b", "lost"]);
        expect((await store.readJob("a"))!.leaseUntilMs).toBe(T0 + HOUR);
        await store.releaseLeases("A");
        expect((await store.claimJobs({ flowId: "f", owner: "E", nowMs: T0 + 300, leaseUntilMs: T0 + HOUR })).map((s) => s.jobId)).toEqual(["a"]);
      });
    });

    describe("listing", () => {
      it("lists jobs oldest first with their metadata, revision and waits, filtered by flow, status and metadata", async () => {
        const { store } = open();
        await store.commit(batch("A", [
          create("a", "f", { createdAtMs: T0, metadata: JSON.stringify({ team: "red", size: 3, urgent: true, note: null }) }),
          create("b", "f", { createdAtMs: T0 + 1, status: "paused", snapshot: base("b", "f", 1, "paused"), metadata: JSON.stringify({ team: "blue", size: 3.5 }), waitingFor: JSON.stringify(["review.answer"]) }),
          create("c", "g", { createdAtMs: T0 + 2, status: "completed", snapshot: base("c", "g", 1, "completed"), metadata: JSON.stringify({ team: "red", urgent: false }) }),
        ]));
        const all = await store.listJobs();
        expect(all.map((s) => s.jobId)).toEqual(["a", "b", "c"]);
        expect(all.nextCursor).toBeUndefined();
        expect(all[1]).toEqual({
          jobId: "b", flowId: "f", status: "paused", createdAt: new Date(T0 + 1), updatedAt: new Date(T0), metadata: { team: "blue", size: 3.5 },
          revision: 1, waitingFor: ["review.answer"],
        });
        const ids = async (filter: Parameters<JobStore["listJobs"]>[0]): Promise<string[]> => (await store.listJobs(filter)).map((s) => s.jobId);
        expect(await ids({ flowId: "f" })).toEqual(["a", "b"]);
        expect(await ids({ status: "paused" })).toEqual(["b"]);
        expect(await ids({ status: ["running", "completed"] })).toEqual(["a", "c"]);
        expect(await ids({ metadata: { team: "red" } })).toEqual(["a", "c"]);
        expect(await ids({ metadata: { team: "red", urgent: true } })).toEqual(["a"]);
        expect(await ids({ metadata: { urgent: false } })).toEqual(["c"]);
        expect(await ids({ metadata: { size: 3 } })).toEqual(["a"]);
        expect(await ids({ metadata: { size: 3.5 } })).toEqual(["b"]);
        expect(await ids({ metadata: { size: "3" } })).toEqual([]);
        expect(await ids({ metadata: { note: null } })).toEqual(["a"]);
        expect(await ids({ metadata: { missing: "x" } })).toEqual([]);
        expect(await ids({ flowId: "g", metadata: { team: "red" } })).toEqual(["c"]);
      });

      it("pages with limit and cursor give every job once, in order, even when many share a millisecond", async () => {
        const { store } = open();
        const jobs = Array.from({ length: 23 }, (_, i) => create(`job-${String(i).padStart(2, "0")}`, "f", { createdAtMs: T0 + Math.floor(i / 5) }));
        for (const job of jobs) await store.commit(batch("A", [job]));
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listJobs({ limit: 5, ...(cursor === undefined ? {} : { cursor }) });
          expect(page.length).toBeLessThanOrEqual(5);
          seen.push(...page.map((s) => s.jobId));
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== undefined);
        expect(pages).toBe(5);
        expect(seen).toEqual(jobs.map((j) => j.jobId));
        const exact = await store.listJobs({ limit: 23 });
        expect(exact).toHaveLength(23);
        expect(exact.nextCursor).toBeUndefined();
      });

      it("refuses a bad limit, cursor, status or metadata value, naming it", async () => {
        const { store } = open();
        await expect(store.listJobs({ limit: 0 })).rejects.toThrow(/`limit`.*got 0/);
        await expect(store.listJobs({ cursor: "not-a-cursor" })).rejects.toThrow(/Invalid job list cursor "not-a-cursor"/);
        await expect(store.listJobs({ status: "done" as "completed" })).rejects.toThrow(/Unknown job status "done"/);
        await expect(store.listJobs({ metadata: { x: { deep: 1 } as unknown as string } })).rejects.toBeInstanceOf(RoutiluxError);
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
        await expect(store.renewLeases("A", T0, [])).rejects.toBeInstanceOf(StoreError);
      });
    });

    describeJobStoreFlows(open, options);
  });
}
