// Crash tests in real processes: a child runs 40-step chains on a SQLite file and is killed with
// SIGKILL mid-run; another process recovers the jobs, which complete with every step recorded
// exactly once. The child is test/fixtures/durable-chain-child.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { JobState, SqliteJobStore } from "../../src/index.js";
import { STEPS, buildCrashChain, summarize, type Summary } from "../fixtures/durable-chain-child.js";
import { seededRandom } from "../fixtures/testing.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/durable-chain-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const folder = mkdtempSync(join(tmpdir(), "routilux-crash-"));
let files = 0;

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function newDb(): string {
  return join(folder, `jobs-${++files}.db`);
}

interface Child {
  readonly process: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line (seen or to come) that passes `test`; rejects if the child exits first. */
  waitForLine(test: (line: string) => boolean): Promise<string>;
  /** Resolves when the child has exited (and been reaped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function start(args: string[]): Child {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const watchers = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const w of watchers) {
      if (w.test(line)) {
        watchers.delete(w);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
  return {
    process: child,
    lines,
    exited,
    waitForLine(test) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        watchers.add({ test, resolve });
        void exited.then(({ code, signal, stderr: err }) => {
          reject(new Error(`child exited (${code ?? signal}) before printing the line awaited; stderr:\n${err}`));
        });
      });
    },
  };
}

/** Runs a recovering process to its end and returns the jobs it recovered and their summaries. */
async function recover(db: string): Promise<{ recovered: string[]; results: Summary[] }> {
  const child = start(["recover", db, "1"]);
  const { code, stderr } = await child.exited;
  expect(code, stderr).toBe(0);
  const line = child.lines.find((l) => l.startsWith("recovered "));
  const recovered = line === undefined ? [] : line.slice("recovered ".length).split(",").filter((id) => id.length > 0);
  const results = child.lines.filter((l) => l.startsWith("result ")).map((l) => JSON.parse(l.slice("result ".length)) as Summary);
  return { recovered, results };
}

/** Starts `jobs` chains, waits until job 0 reports step `step` (then `extraMs` more), and kills the process with SIGKILL. */
async function runAndKill(db: string, jobs: number, step: number, extraMs = 0): Promise<void> {
  const child = start(["run", db, String(jobs), "15"]);
  await child.waitForLine((line) => line === `progress 0 ${step}`);
  if (extraMs > 0) await new Promise((resolve) => setTimeout(resolve, extraMs));
  child.process.kill("SIGKILL");
  const { signal } = await child.exited;
  expect(signal).toBe("SIGKILL");
}

/** An uninterrupted run of the chain, in memory: what every recovered job must end up as. */
async function reference(): Promise<Summary> {
  const flow = buildCrashChain({ delayMs: 0 });
  const job = flow.execute("s0", { entryParams: { step: 0 }, metadata: { index: 0 } });
  await JobState.waitForCompletion(flow, job);
  return summarize(job);
}

const steps = Array.from({ length: STEPS }, (_, i) => i);

/** Every step's and note's output, shared-log entry, count and emit exactly once, as in an uninterrupted run. */
function expectExactlyOnce(result: Summary, expected: Summary): void {
  expect(result.status).toBe("completed");
  expect(result.outputs).toEqual(steps);
  expect(result.notes).toEqual(steps);
  expect(result.sharedLog).toEqual(expected.sharedLog);
  expect(result.count).toBe(STEPS);
  expect(result.noteCount).toBe(STEPS);
  expect(result.emits).toEqual(expected.emits);
}

/** The store, read by this process, agrees: every job completed, exactly once. */
async function expectStored(db: string, jobIds: readonly string[], expected: Summary): Promise<void> {
  const store = new SqliteJobStore({ path: db });
  try {
    const listed = await store.listJobs({ flowId: "crash-chain" });
    expect(listed.map((j) => j.status)).toEqual(listed.map(() => "completed"));
    expect(new Set(listed.map((j) => j.jobId))).toEqual(new Set(jobIds));
    for (const jobId of jobIds) {
      const job = await store.loadJob(jobId);
      expectExactlyOnce(summarize(job!), expected);
    }
  } finally {
    await store.close();
  }
}

describe("a process killed with SIGKILL loses no committed work", { timeout: 90_000 }, () => {
  it("a chain killed after step 12 is recovered by a new process and completes with every step recorded once", async () => {
    const expected = await reference();
    const db = newDb();
    await runAndKill(db, 1, 12);
    const { recovered, results } = await recover(db);
    expect(recovered).toHaveLength(1);
    expect(results).toHaveLength(1);
    expectExactlyOnce(results[0]!, expected);
    expect(results[0]!.recovered).toBe(1);
    await expectStored(db, recovered, expected);
  });

  it("concurrent chains killed at random points all complete exactly once after recovery", async () => {
    const expected = await reference();
    const random = seededRandom(20_251_128); // seeded: the kill points are the same on every run
    const points = [0, 1, 2].map(() => ({ step: 1 + Math.floor(random() * (STEPS - 4)), extraMs: Math.floor(random() * 20) }));
    await Promise.all(points.map(async ({ step, extraMs }) => {
      const db = newDb();
      await runAndKill(db, 3, step, extraMs);
      const { recovered, results } = await recover(db);
      expect(recovered, `killed after step ${step} + ${extraMs} ms`).toHaveLength(3);
      expect(results.map((r) => r.index).sort()).toEqual([0, 1, 2]);
      for (const result of results) expectExactlyOnce(result, expected);
      await expectStored(db, recovered, expected);
    }));
  });

  it("two processes recovering at once run each job once", async () => {
    const expected = await reference();
    const db = newDb();
    await runAndKill(db, 4, 8);
    const [a, b] = await Promise.all([recover(db), recover(db)]);
    const all = [...a.recovered, ...b.recovered];
    expect(all).toHaveLength(4);
    expect(new Set(all).size).toBe(4);
    const results = [...a.results, ...b.results];
    expect(results).toHaveLength(4);
    for (const result of results) expectExactlyOnce(result, expected);
    await expectStored(db, all, expected);
  });

  it("a completed job stays completed after a restart: nothing is recovered or run again", async () => {
    const expected = await reference();
    const db = newDb();
    const first = start(["finish", db, "2"]);
    const { code, stderr } = await first.exited;
    expect(code, stderr).toBe(0);
    const finished = first.lines.filter((l) => l.startsWith("result ")).map((l) => JSON.parse(l.slice("result ".length)) as Summary);
    expect(finished).toHaveLength(2);
    const { recovered, results } = await recover(db);
    expect(recovered).toEqual([]);
    expect(results).toEqual([]);
    await expectStored(db, finished.map((r) => r.jobId), expected);
  });
});
