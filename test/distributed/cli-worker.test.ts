// `routilux worker`: a worker process started from the command line runs the jobs another process
// starts on a PostgreSQL store, with the flows of a folder, and hands back on SIGTERM (exit 0);
// a store it cannot open is bad input (exit 2) naming why.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresJobStore, loadFlowFile } from "../../src/index.js";
import { createTestDatabase } from "../fixtures/postgres.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin/routilux.js");

let url = "";
let drop: (() => Promise<void>) | undefined;
let dir = "";

beforeAll(async () => {
  const db = await createTestDatabase();
  url = db.url;
  drop = db.drop;
  dir = mkdtempSync(join(tmpdir(), "routilux-worker-"));
  writeFileSync(join(dir, "wait.yaml"), "flowId: cli-wait\nroutines:\n  wait: { class: Delay, config: { delayMs: 10 } }\n");
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await drop?.();
});

interface WorkerProc {
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  kill: (s: NodeJS.Signals) => void;
}

function worker(args: string[]): WorkerProc {
  const child = spawn(process.execPath, [BIN, "worker", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  return { out: () => out, err: () => err, exited: new Promise((resolve) => child.on("exit", resolve)), kill: (s) => child.kill(s) };
}

describe("routilux worker", () => {
  it("runs the jobs another process starts on the store, and hands back on SIGTERM", async () => {
    const proc = worker(["--store", url, "--flows-dir", dir, "--concurrency", "2", "--lease-ms", "2000"]);
    const store = new PostgresJobStore({ connectionString: url, leaseMs: 2000 });
    try {
      const flow = await loadFlowFile(join(dir, "wait.yaml"), undefined, { store, runJobs: "workers" });
      const jobs = await Promise.all([1, 2, 3].map((n) => flow.start("wait", { entryParams: { n } })));
      const results = await Promise.all(jobs.map((job) => job.result({ timeoutMs: 30_000 })));
      expect(results.map((r) => r.status)).toEqual(["completed", "completed", "completed"]);
      expect(proc.out()).toMatch(/Worker running the jobs of 'cli-wait'/);
      expect(proc.out().match(/^finished cli-wait\//gm)).toHaveLength(3);
    } finally {
      await store.close();
    }
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.out()).toMatch(/Worker stopped/);
  }, 60_000);

  it("a store it cannot open is bad input, named in one line", async () => {
    const proc = worker(["--store", "postgres://postgres@127.0.0.1:1/none", "--flows-dir", dir]);
    expect(await proc.exited).toBe(2);
    expect(proc.err()).toMatch(/refused the connection/);
  }, 30_000);
});
