// Workers in one process with two store handles (each handle has its own lease owner, as another
// process would): jobs started for workers run on a worker, paused jobs hold no worker, answers
// and cancels reach the job, close() hands jobs back, per-flow limits and time slices hold.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresJobStore, RoutiluxError, Worker, type Flow, type JobStore, type WorkerEvent } from "../../src/index.js";
import { createTestDatabase } from "../fixtures/postgres.js";
import { chainFlow, reviewFlow } from "../fixtures/dist-flows.js";

let url = "";
let drop: (() => Promise<void>) | undefined;
let next = 0;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const db = await createTestDatabase();
  url = db.url;
  drop = db.drop;
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

afterAll(async () => {
  await drop?.();
});

/** Two handles on one fresh schema: the client's and the worker's "process". */
function stores(leaseMs = 2000): { client: PostgresJobStore; host: () => PostgresJobStore } {
  const schema = `worker_${next++}`;
  const open = (): PostgresJobStore => {
    const store = new PostgresJobStore({ connectionString: url, schema, leaseMs });
    closers.push(() => store.close());
    return store;
  };
  return { client: open(), host: open };
}

type WorkerParts = Partial<ConstructorParameters<typeof Worker>[0]>;

function worker(store: JobStore, flows: Flow[], options: WorkerParts = {}): { worker: Worker; events: WorkerEvent[] } {
  const w = new Worker({ store, flows, ...options });
  const events: WorkerEvent[] = [];
  w.subscribe((e) => events.push(e));
  closers.push(() => w.close());
  return { worker: w, events };
}

async function until(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > ms) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("Worker", () => {
  it("runs the jobs another process started for workers, at most `concurrency` at once; result() follows them in the store", async () => {
    const { client, host } = stores();
    const starter = chainFlow(client, { runJobs: "workers", steps: 3, delayMs: 5 });
    const jobs = await Promise.all(Array.from({ length: 12 }, () => starter.start("s0")));
    // Started for workers: unowned in the store, nothing ran here.
    const stored = await client.readJob(jobs[0]!.jobId);
    expect(stored).toMatchObject({ status: "running", leaseOwner: null });
    const hostStore = host();
    const { worker: w, events } = worker(hostStore, [chainFlow(hostStore, { steps: 3, delayMs: 5 })], { concurrency: 4 });
    let most = 0;
    w.subscribe(() => (most = Math.max(most, w.heldJobIds.length)));
    const results = await Promise.all(jobs.map((job) => job.result({ timeoutMs: 20_000 })));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill("completed"));
    for (const r of results) if (r.status === "completed") expect(r.sharedData).toMatchObject({ count: 3, step0: 1, step1: 1, step2: 1 });
    expect(most).toBeLessThanOrEqual(4);
    expect(events.filter((e) => e.type === "claimed")).toHaveLength(12);
    expect(events.filter((e) => e.type === "finished")).toHaveLength(12);
  });

  it("a job that waits for input is let go (it holds no worker); an answer from another process hands it back to the workers", async () => {
    const { client, host } = stores();
    const starter = reviewFlow(client, { runJobs: "workers" });
    const hostStore = host();
    const { worker: w, events } = worker(hostStore, [reviewFlow(hostStore)], { concurrency: 1 });
    const first = await starter.start("ask");
    const second = await starter.start("ask");
    const paused = await first.result({ timeoutMs: 10_000 });
    expect(paused).toMatchObject({ status: "paused", waitingFor: [{ routineId: "ask", slotName: "answer" }] });
    // With one place, the second job could run only because the paused one holds none.
    expect((await second.result({ timeoutMs: 10_000 })).status).toBe("paused");
    await until(() => w.heldJobIds.length === 0);
    expect(events.filter((e) => e.type === "paused").map((e) => e.jobId).sort()).toEqual([first.jobId, second.jobId].sort());
    await starter.answer(first.jobId, "ask", "answer", { approved: true });
    const done = await first.result({ timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: "completed", sharedData: { asked: true, answer: true, answers: 1 } });
    expect(events.filter((e) => e.type === "finished").map((e) => e.jobId)).toEqual([first.jobId]);
  });

  it("a cancel from another process reaches the worker running the job; its handlers are told", async () => {
    const { client, host } = stores();
    const starter = chainFlow(client, { runJobs: "workers", steps: 3, delayMs: 60_000 });
    const hostStore = host();
    const { worker: w, events } = worker(hostStore, [chainFlow(hostStore, { steps: 3, delayMs: 60_000 })]);
    const job = await starter.start("s0");
    await until(() => w.heldJobIds.includes(job.jobId));
    await starter.cancel(job.jobId, { reason: "enough" });
    expect((await job.result({ timeoutMs: 10_000 })).status).toBe("cancelled");
    await until(() => events.some((e) => e.type === "finished" && e.status === "cancelled"));
  });

  it("close() hands back the jobs it holds, and another worker carries them on at once", async () => {
    const { client, host } = stores(60_000);
    const starter = chainFlow(client, { runJobs: "workers", steps: 4, delayMs: 50 });
    const jobs = await Promise.all(Array.from({ length: 3 }, () => starter.start("s0")));
    const a = host();
    const { worker: first } = worker(a, [chainFlow(a, { steps: 4, delayMs: 50 })]);
    await until(() => first.heldJobIds.length === 3);
    await first.close();
    expect(first.heldJobIds).toEqual([]);
    const b = host();
    worker(b, [chainFlow(b, { steps: 4, delayMs: 50 })]);
    const results = await Promise.all(jobs.map((job) => job.result({ timeoutMs: 10_000 })));
    for (const r of results) expect(r).toMatchObject({ status: "completed", sharedData: { count: 4, step0: 1, step1: 1, step2: 1, step3: 1 } });
  });

  it("per-flow limits and time slices: a full worker hands long jobs back so waiting ones get a turn", async () => {
    const { client, host } = stores();
    const starter = chainFlow(client, { runJobs: "workers", steps: 6, delayMs: 60 });
    const jobs = await Promise.all(Array.from({ length: 3 }, () => starter.start("s0")));
    const hostStore = host();
    const { worker: w, events } = worker(hostStore, [chainFlow(hostStore, { steps: 6, delayMs: 60 })], {
      concurrency: 5, flowConcurrency: { [starter.flowId]: 1 }, sliceMs: 100,
    });
    let most = 0;
    w.subscribe(() => (most = Math.max(most, w.heldJobIds.length)));
    const results = await Promise.all(jobs.map((job) => job.result({ timeoutMs: 20_000 })));
    for (const r of results) expect(r).toMatchObject({ status: "completed", sharedData: { count: 6 } });
    expect(most).toBe(1);
    expect(events.filter((e) => e.type === "handed-back").length).toBeGreaterThan(0);
  });

  it("refuses flows it cannot run, naming them", () => {
    const { client, host } = stores();
    const hostStore = host();
    expect(() => new Worker({ store: hostStore, flows: [] })).toThrow(/at least one flow/);
    expect(() => new Worker({ store: hostStore, flows: [chainFlow(client)] })).toThrow(/does not use the worker's store/);
    expect(() => new Worker({ store: hostStore, flows: [chainFlow(hostStore, { runJobs: "workers" })] })).toThrow(/runJobs: "workers"/);
    expect(() => new Worker({ store: hostStore, flows: [chainFlow(hostStore)], flowConcurrency: { nope: 1 } })).toThrow(RoutiluxError);
  });
});
