// Many hosts with real processes on a fresh database: three worker processes share 500 jobs; one
// is killed with SIGKILL mid-run and one is stopped with SIGSTOP past its lease, then continued.
// Every job ends exactly once in recorded state, no task's changes are applied twice, and the
// stalled worker's late writes are refused: it reports those jobs lost and stops them. Cancels and
// answers from a fourth process reach the jobs: a cancel the worker holding the job, an answer a
// paused job that no worker holds, which then goes back to the workers.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresJobStore, type JobState } from "../../src/index.js";
import { createTestDatabase } from "../fixtures/postgres.js";
import { CHAIN, REVIEW, chainFlow, reviewFlow } from "../fixtures/dist-flows.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKER = fileURLToPath(new URL("../fixtures/dist-worker.ts", import.meta.url));
const CLIENT = fileURLToPath(new URL("../fixtures/dist-client.ts", import.meta.url));
const SCHEMA = "many";
const LEASE_MS = 1500;
const JOBS = 500;
const STEPS = 5;

interface Event { worker: string; type: string; jobId: string; flowId: string; status: string; error?: string }

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

let url = "";
let drop: (() => Promise<void>) | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const db = await createTestDatabase();
  url = db.url;
  drop = db.drop;
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
  }
  await drop?.();
});

function run(script: string, args: string[]): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines: string[] = [];
  let rest = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${script} exited ${code}: ${stderr}\n`);
    resolve(code);
  }));
  return { child, lines, exited };
}

function events(proc: Proc): Event[] {
  return proc.lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Event);
}

async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("three worker processes, a killed one, a stalled one, and a fourth process", () => {
  it("every job ends exactly once; the stalled worker's late writes are refused; cancels and answers reach their jobs", async () => {
    const store = new PostgresJobStore({ connectionString: url, schema: SCHEMA, leaseMs: LEASE_MS });
    try {
      await store.ready();
      const workers = ["a", "b", "c"].map((name) => run(WORKER, [url, SCHEMA, String(LEASE_MS), "10", name]));
      const [a, b, c] = workers as [Proc, Proc, Proc];
      await until("the workers to start", () => workers.every((w) => w.lines.includes("ready")));
      const chain = chainFlow(store, { runJobs: "workers", steps: STEPS, delayMs: 40 });
      const review = reviewFlow(store, { runJobs: "workers" });

      // A fourth process cancels long jobs that workers hold, and answers jobs that wait (held by none).
      const long = await Promise.all(Array.from({ length: 4 }, () => chain.start("s0", { metadata: { delayMs: 60_000 } })));
      const asking = await Promise.all(Array.from({ length: 6 }, () => review.start("ask")));
      await until("the long jobs to be held", async () => (await Promise.all(long.map((j) => store.readJob(j.jobId)))).every((s) => s?.leaseOwner !== null));
      for (const job of asking) expect((await job.result({ timeoutMs: 20_000 })).status).toBe("paused");
      const holders = new Map(long.map((j) => [j.jobId, workers.flatMap(events).filter((e) => e.jobId === j.jobId && e.type === "claimed").at(-1)!.worker]));
      const client = run(CLIENT, [url, SCHEMA, JSON.stringify({ cancel: long.map((j) => j.jobId), answer: asking.map((j) => j.jobId) })]);
      expect(await client.exited).toBe(0);
      expect(client.lines).toContain("ok");
      for (const job of long) {
        expect((await job.result({ timeoutMs: 20_000 })).status).toBe("cancelled");
        const ended = workers.flatMap(events).find((e) => e.jobId === job.jobId && e.type === "finished");
        expect(ended).toMatchObject({ worker: holders.get(job.jobId), status: "cancelled" });
      }
      for (const job of asking) {
        expect(await job.result({ timeoutMs: 20_000 })).toMatchObject({ status: "completed", sharedData: { asked: true, answer: true, answers: 1 } });
        expect(workers.flatMap(events).filter((e) => e.jobId === job.jobId && e.type === "finished")).toHaveLength(1);
      }

      // 500 jobs; one worker killed, one stalled past its lease and continued.
      const jobs: JobState[] = [];
      for (let i = 0; i < JOBS; i += 50) jobs.push(...await Promise.all(Array.from({ length: 50 }, () => chain.start("s0"))));
      const completed = async (): Promise<number> => (await store.listJobs({ flowId: CHAIN, status: "completed" })).length;
      await until("a first part of the jobs to complete", async () => (await completed()) >= 60);
      a.child.kill("SIGKILL");
      await until("the stalled worker to hold jobs", () => events(b).filter((e) => e.type === "claimed").length > events(b).filter((e) => e.type !== "claimed").length);
      b.child.kill("SIGSTOP");
      await sleep(LEASE_MS * 2 + 500);
      b.child.kill("SIGCONT");
      await until("every job to end", async () => (await store.listJobs({ flowId: CHAIN, status: "running" })).length === 0, 80_000);

      // The stalled worker found its jobs taken: it stopped them and wrote nothing more of them.
      await until("the stalled worker to report its lost jobs", () => events(b).some((e) => e.type === "lost"));
      const lost = events(b).filter((e) => e.type === "lost");
      for (const e of lost) expect(e.error).toMatch(/taken over|lease .* was taken|another process/);

      for (const job of jobs) {
        const stored = (await store.loadJob(job.jobId))!;
        expect(stored.status).toBe("completed");
        // Each task's changes once: each step counted once, the shared log in order without repeats.
        expect(stored.sharedData).toMatchObject({ count: STEPS, step0: 1, step1: 1, step2: 1, step3: 1, step4: 1 });
        expect(stored.sharedLog).toEqual([0, 1, 2, 3, 4].map((step) => ({ step })));
        // It ended once.
        expect(stored.executionHistory.filter((r) => r.eventName === "completed")).toHaveLength(1);
      }
      const ran = new Set([...events(b), ...events(c)].filter((e) => e.type === "claimed").map((e) => e.jobId));
      expect(ran.size).toBeGreaterThan(0);

      b.child.kill("SIGTERM");
      c.child.kill("SIGTERM");
      expect(await b.exited).toBe(0);
      expect(await c.exited).toBe(0);
      expect(b.lines).toContain("stopped");
      expect(await store.listJobs({ flowId: REVIEW, status: "completed" })).toHaveLength(6);
    } finally {
      await store.close();
    }
  }, 150_000);
});
