// The SQLite store's own promises: where its file goes, and that a database it cannot trust (not
// a database, another application's, a newer schema, locked, corrupt rows) gives a StoreError
// naming the file instead of a store that silently starts empty.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { Flow, JobState, Routine, RoutiluxError, SqliteJobStore, StoreError, type JobStore, type JobWrite } from "../../src/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const folders: string[] = [];
const stores: JobStore[] = [];

afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "routilux-sqlite-"));
  folders.push(folder);
  return folder;
}

function openStore(options: ConstructorParameters<typeof SqliteJobStore>[0]): SqliteJobStore {
  const store = new SqliteJobStore(options);
  stores.push(store);
  return store;
}

/** Runs `fn` and returns the StoreError it throws. */
function storeErrorOf(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error("expected a StoreError, but nothing was thrown");
}

/** A flow of one routine that pauses its job, so the job's state is in the store. */
function pausingFlow(store: JobStore): Flow {
  const flow = new Flow({ flowId: "pausing", store });
  const routine = new Routine();
  routine.defineSlot("trigger", async (_data, ctx) => {
    ctx.jobState.appendToSharedLog("before the pause");
    await ctx.flow.pause(ctx.jobState, { reason: "wait" });
  });
  flow.addRoutine(routine, "only");
  return flow;
}

describe("the SQLite store's file", () => {
  it("defaults to ./.routilux/jobs.db, creating the folder", () => {
    const cwd = tempFolder();
    const tsx = join(ROOT, "node_modules/tsx", (JSON.parse(readFileSync(join(ROOT, "node_modules/tsx/package.json"), "utf8")) as { exports: { ".": string } }).exports["."]);
    const source = join(ROOT, "src/index.ts");
    const printed = execFileSync(process.execPath, [
      "--import", tsx, "--input-type=module", "-e",
      `import { SqliteJobStore } from ${JSON.stringify(source)}; const s = new SqliteJobStore(); console.log(s.path); await s.close();`,
    ], { cwd, encoding: "utf8" });
    expect(printed.trim()).toBe(join(cwd, ".routilux", "jobs.db"));
    expect(existsSync(join(cwd, ".routilux", "jobs.db"))).toBe(true);
  });

  it("creates the folders of a given path, runs in WAL mode and records its schema version", async () => {
    const path = join(tempFolder(), "a", "b", "jobs.db");
    const store = openStore({ path });
    expect(store.path).toBe(path);
    expect(String(store)).toBe(`SQLite job store '${path}'`);
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("user_version", { simple: true })).toBe(3);
    db.close();
  });

  it("a file that is not a database gives a StoreError naming it, and the file is left as it was", () => {
    const path = join(tempFolder(), "jobs.db");
    const garbage = "this is not a database, but someone's notes ".repeat(200);
    writeFileSync(path, garbage);
    const error = storeErrorOf(() => new SqliteJobStore({ path }));
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/corrupt or not a SQLite database/);
    expect(readFileSync(path, "utf8")).toBe(garbage);
  });

  it("a database written by a newer routilux gives a StoreError naming the file and both versions", () => {
    const path = join(tempFolder(), "jobs.db");
    const db = new Database(path);
    db.pragma("user_version = 7");
    db.close();
    const error = storeErrorOf(() => new SqliteJobStore({ path }));
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/schema version 7, newer than this routilux reads \(3\)/);
  });

  it("a store of the schema before is brought up to date when opened: its jobs and their leases are kept, and released by owner", async () => {
    const path = join(tempFolder(), "jobs.db");
    const store = openStore({ path });
    const base = (id: string, flow: string): string =>
      JSON.stringify({ base: 1, id, f: flow, s: "running", u: 0, n: 1, j: { ca: 0, m: {}, ck: null, to: null, rm: 0 }, p: [] });
    const start = (jobId: string, flowId: string): JobWrite => ({
      jobId, flowId, status: "running", createdAtMs: 0, updatedAtMs: 0, acquire: true, previousSeq: 0, epoch: 0, snapshot: { seq: 1, data: base(jobId, flowId) }, commits: [],
    });
    const later = Date.now() + 60_000;
    await store.commit({ owner: "A", nowMs: 0, leaseUntilMs: later, jobs: [start("a1", "f"), start("a2", "g")] });
    await store.commit({ owner: "B", nowMs: 0, leaseUntilMs: later, jobs: [start("b1", "f")] });
    await store.close();
    const old = new Database(path);
    old.exec(`
      DROP INDEX jobs_by_flow_status;
      CREATE INDEX jobs_by_flow_status ON jobs (flow_id, status);
      CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
      PRAGMA user_version = 2;
    `);
    old.close();
    const again = openStore({ path });
    expect((await again.readJob("a2"))!.leaseOwner).toBe("A");
    await again.releaseLeases("A");
    const owners = await Promise.all(["a1", "a2", "b1"].map(async (id) => (await again.readJob(id))!.leaseOwner));
    expect(owners).toEqual([null, null, "B"]);
    await again.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(3);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL ORDER BY name").pluck().all();
    expect(indexes).toEqual(["jobs_by_age", "jobs_by_flow_status"]);
    db.close();
  });

  it("while stores are written, each one's log is copied into its database file; a closed store's file is let go at once", async () => {
    const pathA = join(tempFolder(), "a.db");
    const pathB = join(tempFolder(), "b.db");
    const a = openStore({ path: pathA });
    const b = openStore({ path: pathB });
    const write = async (store: SqliteJobStore, from: number): Promise<void> => {
      const jobs: JobWrite[] = Array.from({ length: 200 }, (_, i) => {
        const jobId = `j${from + i}`;
        const snapshot = JSON.stringify({ base: 1, id: jobId, f: "f", s: "completed", u: 0, n: 1, j: { ca: 0, m: {}, ck: null, to: null, rm: 0 }, p: [], l: ["x".repeat(500)] });
        return { jobId, flowId: "f", status: "completed", createdAtMs: 0, updatedAtMs: 0, acquire: true, previousSeq: 0, epoch: 0, snapshot: { seq: 1, data: snapshot }, commits: [] };
      });
      await store.commit({ owner: "A", nowMs: 0, leaseUntilMs: 1, jobs });
    };
    const grown = async (path: string, than: number): Promise<number> => {
      for (let waited = 0; waited < 5000; waited += 20) {
        const size = statSync(path).size;
        if (size > than) return size;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`${path} did not grow past ${than} bytes`);
    };
    const [sizeOfA, firstSizeOfB] = [statSync(pathA).size, statSync(pathB).size];
    await write(a, 0);
    await write(b, 0);
    await grown(pathA, sizeOfA);
    const sizeOfB = await grown(pathB, firstSizeOfB);
    await a.close();
    // Nothing else holds the closed store's file: leaving WAL mode needs the only connection.
    const alone = new Database(pathA);
    expect(alone.pragma("journal_mode = DELETE", { simple: true })).toBe("delete");
    alone.close();
    await write(b, 200);
    await grown(pathB, sizeOfB);
  });

  it("another application's database is refused, not taken over", () => {
    const path = join(tempFolder(), "app.db");
    const db = new Database(path);
    db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1)");
    db.close();
    const error = storeErrorOf(() => new SqliteJobStore({ path }));
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/other tables \(invoices\)/);
    const again = new Database(path, { readonly: true });
    expect(again.prepare("SELECT count(*) AS n FROM invoices").get()).toEqual({ n: 1 });
    expect(again.prepare("SELECT name FROM sqlite_master WHERE name = 'jobs'").get()).toBeUndefined();
    again.close();
  });

  it("a database another connection keeps locked gives a StoreError naming the file", async () => {
    const path = join(tempFolder(), "jobs.db");
    await openStore({ path }).close();
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE");
    try {
      const error = storeErrorOf(() => new SqliteJobStore({ path, busyTimeoutMs: 50 }));
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/locked by another connection/);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
  });

  it("a corrupt commit gives a StoreError naming the file, the job and the commit; nothing is recovered", async () => {
    const path = join(tempFolder(), "jobs.db");
    const store = openStore({ path });
    await store.commit({
      owner: "gone", nowMs: 0, leaseUntilMs: 1,
      jobs: [{
        jobId: "j", flowId: "pausing", status: "running", createdAtMs: 0, updatedAtMs: 0, acquire: true, previousSeq: 0, epoch: 0,
        snapshot: { seq: 1, data: JSON.stringify({ base: 1, id: "j", f: "pausing", s: "running", u: 0, n: 1, j: { ca: 0, m: {}, ck: null, to: null, rm: 0 }, p: [] }) },
        commits: [{ seq: 2, data: JSON.stringify({ s: "running", u: 1, n: 1, h: [["only", "x", {}, 1]] }) }],
      }],
    });
    const db = new Database(path);
    db.prepare("UPDATE job_log SET data = ? WHERE job_id = 'j' AND seq = 2").run("{\"s\": \"running\", \"u\": \"yesterday\"");
    db.close();
    const error = await store.loadJob("j").then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(path);
    expect((error as StoreError).message).toMatch(/job 'j', commit 2/);
    const flow = pausingFlow(store);
    await expect(flow.recover()).rejects.toBeInstanceOf(StoreError);
    expect((await store.claimJobs({ flowId: "pausing", owner: "other", nowMs: Date.now(), leaseUntilMs: Date.now() + 1000 })).map((s) => s.jobId))
      .toEqual(["j"]);
    await flow.shutdown();
  });

  it("a commit of the wrong shape gives a StoreError naming the job, the commit and the field; nothing is recovered", async () => {
    const path = join(tempFolder(), "jobs.db");
    const store = openStore({ path });
    const base = { base: 1, id: "j", f: "pausing", s: "running", u: 0, n: 2, j: { ca: 0, m: {}, ck: null, to: null, rm: 0 }, p: [] };
    const task = { taskId: 1, routineId: "only", slotName: "trigger", data: {}, attempt: 1 };
    await store.commit({
      owner: "gone", nowMs: 0, leaseUntilMs: 1,
      jobs: [{
        jobId: "j", flowId: "pausing", status: "running", createdAtMs: 0, updatedAtMs: 0, acquire: true, previousSeq: 0, epoch: 0,
        snapshot: { seq: 1, data: JSON.stringify(base) },
        commits: [{ seq: 2, data: JSON.stringify({ s: "running", u: 1, n: 2, a: [task] }) }, { seq: 3, data: JSON.stringify({ s: "running", u: 2, n: 2 }) }],
      }],
    });
    const db = new Database(path);
    db.prepare("UPDATE job_log SET data = ? WHERE job_id = 'j' AND seq = 2").run(JSON.stringify({ s: "running", u: 1, n: 2, a: [{ ...task, attempt: 0 }] }));
    db.close();
    const error = await store.loadJob("j").then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(path);
    expect((error as StoreError).message).toMatch(/job 'j', commit 2 is malformed at 'a\[0\]\.attempt'/);
    const flow = pausingFlow(store);
    await expect(flow.recover()).rejects.toThrow(/job 'j', commit 2 is malformed/);
    expect(flow.heldJob("j")).toBeUndefined();
    expect((await store.claimJobs({ flowId: "pausing", owner: "other", nowMs: Date.now(), leaseUntilMs: Date.now() + 1000 })).map((s) => s.jobId))
      .toEqual(["j"]);
    await flow.shutdown();
  });

  it("a job's commits written in several group commits leave no log rows once a snapshot holds them: when it pauses, and when it ends", async () => {
    const path = join(tempFolder(), "jobs.db");
    const store = openStore({ path });
    const flow = new Flow({ flowId: "steps", store });
    const step = new Routine();
    step.defineEvent("next", ["n"]);
    step.defineSlot("trigger", async function (this: Routine, data, ctx) {
      // A timer between steps: each step's commit is a group commit of its own.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const n = (data.n as number) + 1;
      if (n === 3) await ctx.flow.pause(ctx.jobState, { reason: "halfway" });
      if (n < 6) this.emit("next", { n });
    });
    flow.addRoutine(step, "step");
    flow.connect("step", "next", "step", "trigger");
    const rows = (): number => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM job_log WHERE job_id = ?").get(job.jobId) as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const job = flow.execute("step", { entryParams: { n: 0 } });
    await JobState.waitForCompletion(flow, job);
    expect(job.status).toBe("paused");
    expect(rows()).toBe(0);
    flow.resume(job);
    await JobState.waitForCompletion(flow, job);
    expect(job.status).toBe("completed");
    expect(rows()).toBe(0);
    expect((await store.loadJob(job.jobId))!.serialize()).toEqual(job.serialize());
    await flow.shutdown();
  });

  it("a log that lacks a commit its job's row counts is reported as corrupt", async () => {
    const path = join(tempFolder(), "jobs.db");
    const store = openStore({ path });
    const flow = pausingFlow(store);
    const job = flow.execute("only");
    await JobState.waitForCompletion(flow, job);
    await flow.shutdown();
    const db = new Database(path);
    db.prepare("UPDATE jobs SET last_seq = last_seq + 1").run();
    db.close();
    await expect(store.loadJob(job.jobId)).rejects.toThrow(/log ends at/);
  });

  it("renews the leases of the jobs it runs, so another process cannot take them meanwhile", async () => {
    const path = join(tempFolder(), "jobs.db");
    const store = openStore({ path, leaseMs: 150 });
    const flow = new Flow({ flowId: "slow", store });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const routine = new Routine();
    routine.defineSlot("trigger", () => held);
    flow.addRoutine(routine, "only");
    const job = flow.execute("only");
    const other = openStore({ path, leaseMs: 150 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const claim = (): Promise<string[]> =>
      other.claimJobs({ flowId: "slow", owner: "another process", nowMs: Date.now(), leaseUntilMs: Date.now() + 150 }).then((s) => s.map((j) => j.jobId));
    expect(await claim()).toEqual([]);
    release();
    await JobState.waitForCompletion(flow, job);
    await flow.shutdown();
    expect(await claim()).toEqual([]);
    expect((await other.loadJob(job.jobId))!.status).toBe("completed");
  });

  it("checks its options", () => {
    expect(() => new SqliteJobStore({ leaseMs: 0 })).toThrow(RoutiluxError);
    expect(() => new SqliteJobStore({ busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
    expect(() => new SqliteJobStore({ synchronous: "sometimes" as "full" })).toThrow(/"normal" or "full"/);
    expect(() => new SqliteJobStore({ path: "" })).toThrow(/non-empty string/);
  });
});
