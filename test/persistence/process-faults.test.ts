// Promises about processes, checked with real child processes on a SQLite store: a process killed
// with SIGKILL at many points of its jobs' first milliseconds and of their pauses, two processes
// racing to resume or recover the same jobs, and a process stopped (SIGSTOP) past its lease while
// another takes its jobs over. Every step handler first writes an outside effect (a line in a log
// file, naming the job, the step and what the store held for the job at that moment), so the tests
// can tell what ran where. The child is test/fixtures/process-faults-child.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteJobStore } from "../../src/index.js";
import { FLOW_ID, PAUSE_STEP, STEPS, buildFaultFlow, finish, summarize, type Kind, type Summary } from "../fixtures/process-faults-child.js";
import { sleep } from "../fixtures/testing.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/process-faults-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const folder = mkdtempSync(join(tmpdir(), "routilux-faults-"));
let files = 0;

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A new store file and outside-effect log. */
function newFiles(): { db: string; effects: string } {
  const n = ++files;
  return { db: join(folder, `jobs-${n}.db`), effects: join(folder, `effects-${n}.log`) };
}

interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly lines: string[];
  /** Resolves with the first line (seen or to come) that passes `test`; rejects if the child exits first. */
  waitForLine(test: (line: string) => boolean): Promise<string>;
  /** Resolves once `count` lines have passed `test`. */
  waitForLines(test: (line: string) => boolean, count: number): Promise<void>;
  send(line: string): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function start(mode: string, args: Record<string, string | number | true>): Child {
  const argv = Object.entries(args).map(([key, value]) => (value === true ? `--${key}` : `--${key}=${value}`));
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, mode, ...argv], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  const watchers = new Set<() => void>();
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on("error", () => undefined); // a killed child's stdin
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const watcher of watchers) watcher();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
  const waitForLines = (test: (line: string) => boolean, count: number): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (lines.filter(test).length < count) return;
      watchers.delete(check);
      resolve();
    };
    watchers.add(check);
    check();
    void exited.then(({ code, signal, stderr: err }) => {
      if (!watchers.has(check)) return;
      watchers.delete(check);
      reject(new Error(`child exited (${code ?? signal}) before printing the lines awaited; stderr:\n${err}\nstdout:\n${lines.join("\n")}`));
    });
  });
  return {
    process: child,
    pid: child.pid!,
    lines,
    exited,
    waitForLines,
    async waitForLine(test) {
      await waitForLines(test, 1);
      return lines.find(test)!;
    },
    send(line) {
      child.stdin.write(`${line}\n`);
    },
  };
}

/** Kills a child with SIGKILL and waits until it is gone. */
async function kill(child: Child): Promise<void> {
  child.process.kill("SIGKILL");
  const { signal, code, stderr } = await child.exited;
  expect(signal, `the child should die by SIGKILL, not exit (${code}): ${stderr}`).toBe("SIGKILL");
}

/** Whether the process is stopped (state "T" in /proc, Linux). */
function isStopped(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
}

/**
 * Stops a child with SIGSTOP at a moment it holds no write lock on the store: SQLite lets one
 * writer in at a time, so a process stopped inside a transaction would hold every other process
 * off (they fail with a StoreError once busyTimeoutMs has passed). Else it is let go on and
 * stopped again a little later.
 */
async function stopOutsideTransaction(child: Child, db: string): Promise<void> {
  const probe = new Database(db, { timeout: 0 });
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      child.process.kill("SIGSTOP");
      while (!isStopped(child.pid)) await sleep(1);
      try {
        probe.exec("BEGIN IMMEDIATE; ROLLBACK");
        return;
      } catch (error) {
        if (!String((error as { code?: unknown }).code).startsWith("SQLITE_BUSY")) throw error;
      }
      child.process.kill("SIGCONT");
      await sleep(5);
    }
    throw new Error("the child held the store's write lock at every attempt to stop it");
  } finally {
    probe.close();
  }
}

/** Waits for a child to exit normally. */
async function ended(child: Child): Promise<void> {
  const { code, stderr } = await child.exited;
  expect(code, `${stderr}\nstdout:\n${child.lines.join("\n")}`).toBe(0);
}

/** The JSON bodies of the lines starting with `word `. */
function linesOf<T>(child: Child, word: string): T[] {
  return child.lines.filter((l) => l.startsWith(`${word} `)).map((l) => l.slice(word.length + 1)).map((l) => (l.startsWith("{") || l.startsWith("[") ? JSON.parse(l) as T : l as T));
}

interface Effect {
  pid: number;
  jobId: string;
  step: number;
  /** What the store held for the job when the handler began ("none": nothing). */
  stored: string;
}

function readEffects(path: string): Effect[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0).map((line) => {
    const [pid, jobId, step, stored] = line.split(" ");
    return { pid: Number(pid), jobId: jobId!, step: Number(step), stored: stored! };
  });
}

/** Every job the store holds, as summaries, read by this process. */
async function storedJobs(db: string): Promise<Map<string, Summary>> {
  const store = new SqliteJobStore({ path: db });
  try {
    const jobs = new Map<string, Summary>();
    for (const listed of await store.listJobs({ flowId: FLOW_ID })) {
      const job = await store.loadJob(listed.jobId);
      expect(job!.status).toBe(listed.status);
      jobs.set(listed.jobId, summarize(job!));
    }
    return jobs;
  } finally {
    await store.close();
  }
}

const ALL_STEPS = Array.from({ length: STEPS }, (_, i) => i);

/** Every step recorded exactly once: one shared-log entry, one count, one output each; nothing written late. */
function expectExactlyOnce(job: Summary, where: string): void {
  expect(job.status, where).toBe("completed");
  expect(job.logged, where).toEqual(ALL_STEPS);
  expect(job.outputs, where).toEqual(ALL_STEPS);
  expect(job.count, where).toBe(STEPS);
  expect(job.late, where).toBeUndefined();
  expect(job.lateOutputs, where).toBe(0);
  expect(job.pending, where).toEqual([]);
  expect(job.deferred, where).toEqual([]);
}

/**
 * A stored job is consistent: its steps so far are recorded once each, in order, and what it does
 * next is stored too (the next step as a pending task, or as a deferred event of the step before).
 */
function expectConsistent(job: Summary, where: string): void {
  const done = job.logged.length;
  expect(job.logged, where).toEqual(ALL_STEPS.slice(0, done));
  expect(job.outputs, where).toEqual(job.logged);
  expect(job.count ?? 0, where).toBe(done);
  expect(job.late, where).toBeUndefined();
  if (job.status === "completed") {
    expectExactlyOnce(job, where);
    return;
  }
  // Paused while its last step ran, a job has nothing left to run: resumed, it completes.
  if (done === STEPS) {
    expect(job.status, where).toBe("paused");
    expect(job.pending, where).toEqual([]);
    return;
  }
  const next = done === 0 ? "s0.trigger" : `s${done}.input`;
  const carriesOn = job.pending.includes(next) || (done > 0 && job.deferred.includes(`s${done - 1}.next`));
  expect(carriesOn, `${where}: step ${done} is neither pending nor deferred (${JSON.stringify(job)})`).toBe(true);
}

/** Recovers in this process (a new process for the store) and takes every job to its end. */
async function recoverHere(db: string, effects: string, includePaused: boolean): Promise<{ recovered: Set<string>; results: Summary[] }> {
  const store = new SqliteJobStore({ path: db });
  const flow = buildFaultFlow({ store, effects, delays: [0] });
  try {
    const jobs = await flow.recover({ includePaused });
    const recovered = new Set(jobs.map((j) => j.jobId));
    const results: Summary[] = [];
    for (const job of jobs) {
      const done = await finish(flow, job, (error) => {
        throw error;
      });
      results.push(summarize(done!));
    }
    return { recovered, results };
  } finally {
    await flow.shutdown();
    await store.close();
  }
}

/** What a start process reported: the jobs whose start() resolved, how jobs rested, and the outside pauses that resolved. */
function reported(child: Child): { stored: string[]; rested: Array<{ jobId: string; status: string; reason?: string }>; paused: string[] } {
  return {
    stored: linesOf<string>(child, "stored"),
    rested: linesOf(child, "rested"),
    paused: linesOf<string>(child, "paused"),
  };
}

interface KillPoint {
  readonly name: string;
  /** Resolves at the moment to kill the child (it has been told "go"). */
  readonly after: (child: Child) => Promise<unknown>;
}

interface KilledRun {
  readonly where: string;
  readonly db: string;
  readonly effects: string;
  readonly child: Child;
}

/**
 * Starts one child per kill point (20 jobs each), lets every child load, then lets each go and
 * kills it at its point, one after the other, so that no other child's start slows the kill down.
 */
async function sweep(points: readonly KillPoint[], args: Record<string, string | number | true>): Promise<KilledRun[]> {
  const runs = await Promise.all(points.map(async (point) => {
    const { db, effects } = newFiles();
    const child = start("start", { db, effects, jobs: 20, hold: true, go: true, ...args });
    await child.waitForLine((l) => l === "ready");
    return { where: `killed at ${point.name}`, after: point.after, db, effects, child };
  }));
  for (const { child, after } of runs) {
    child.send("go");
    await after(child);
    await kill(child);
  }
  return runs;
}

const nthLine = (prefix: string, n = 1) => (child: Child): Promise<void> => child.waitForLines((l) => l.startsWith(prefix), n);

/** The effects made before the kill: each handler began only once the store held its job as running. */
function expectEffectsOfStoredJobs(effects: readonly Effect[], stored: ReadonlyMap<string, Summary>, where: string): void {
  for (const effect of effects) {
    expect(effect.stored, `${where}: step ${effect.step} of job ${effect.jobId} began while the store held it as`).toBe("running");
    expect(stored.has(effect.jobId), where).toBe(true);
  }
}

/** After recovery: every stored job completed exactly once; outside effects repeat at most, for stored jobs only. */
async function expectAllDone(run: KilledRun, jobIds: ReadonlySet<string>): Promise<number> {
  const { where, db, effects } = run;
  const after = await storedJobs(db);
  expect(new Set(after.keys()), where).toEqual(jobIds);
  for (const job of after.values()) expectExactlyOnce(job, `${where}, stored job ${job.jobId}`);
  const all = readEffects(effects);
  for (const effect of all) expect(after.has(effect.jobId), where).toBe(true);
  for (const jobId of after.keys()) {
    expect(new Set(all.filter((e) => e.jobId === jobId).map((e) => e.step)), `${where}, job ${jobId}`).toEqual(new Set(ALL_STEPS));
  }
  return all.length - after.size * STEPS;
}

/**
 * Stops A (SIGSTOP, outside a transaction), starts B, and once A's lease has run out (A's last
 * renewal was before the stop: its lease expires though A is alive) lets B recover A's `jobs` jobs;
 * runs `meanwhile`, then continues A and waits for both to end. Returns B and how many steps A had
 * begun before the stop (effects are written synchronously as a step begins).
 */
async function takeOverStopped(
  a: Child,
  files: { db: string; effects: string },
  options: { leaseMs: number; jobs: number; label: string; meanwhile: (b: Child) => Promise<unknown> },
): Promise<{ b: Child; stepsBeforeStop: number }> {
  const { db, effects } = files;
  await stopOutsideTransaction(a, db);
  const stoppedAt = Date.now();
  const stepsBeforeStop = readEffects(effects).filter((e) => e.pid === a.pid).length;
  const b = start("recover", { db, effects, lease: options.leaseMs, go: true, delays: 100 });
  try {
    await b.waitForLine((l) => l === "ready");
    await sleep(stoppedAt + options.leaseMs + 250 - Date.now());
    b.send("go");
    const recovered = await b.waitForLine((l) => l.startsWith("recovered "));
    expect(JSON.parse(recovered.slice("recovered ".length)), options.label).toHaveLength(options.jobs);
    await options.meanwhile(b);
  } finally {
    a.process.kill("SIGCONT");
  }
  await Promise.all([ended(a), ended(b)]);
  return { b, stepsBeforeStop };
}

describe("process faults on a SQLite store", { timeout: 120_000 }, () => {
  it("a process killed with SIGKILL at any point of its jobs' first milliseconds leaves every job stored before its handlers ran, and recoverable", async () => {
    const runs = await sweep([
      { name: "the first execute", after: nthLine("created ") },
      { name: "the first durable start", after: nthLine("stored ") },
      ...[1, 15, 45].map((n) => ({ name: `handler ${n} of 80`, after: nthLine("step ", n) })),
      { name: "the end of every job", after: (child: Child) => child.waitForLine((l) => l === "settled") },
    ], { delays: 3 });
    const outcomes = await Promise.all(runs.map(async (run) => {
      const { where, db, effects, child } = run;
      const before = await storedJobs(db);
      // No handler ran before its job was stored.
      expectEffectsOfStoredJobs(readEffects(effects), before, where);
      const { stored, rested } = reported(child);
      for (const jobId of stored) expect(before.has(jobId), `${where}: start() resolved for ${jobId}`).toBe(true);
      for (const r of rested) expect(before.get(r.jobId)?.status, `${where}: ${r.jobId} was reported completed`).toBe("completed");
      // Every stored job is running (to recover) or has ended; both with their steps recorded once.
      for (const job of before.values()) {
        expect(["running", "completed"], where).toContain(job.status);
        expectConsistent(job, `${where}, job ${job.jobId}`);
      }
      const running = [...before.values()].filter((j) => j.status === "running").map((j) => j.jobId);
      const { recovered, results } = await recoverHere(db, effects, false);
      expect(recovered, where).toEqual(new Set(running));
      for (const result of results) {
        expectExactlyOnce(result, `${where}, recovered job ${result.jobId}`);
        expect(result.recovered, where).toBe(1);
      }
      const repeated = await expectAllDone(run, new Set(before.keys()));
      return { stored: before.size, running: running.length, repeated };
    }));
    // The sweep met every kind of moment: jobs to recover, effects repeated, every job done.
    expect(outcomes.some((o) => o.running > 0)).toBe(true);
    expect(outcomes.some((o) => o.repeated > 0)).toBe(true);
    expect(outcomes.some((o) => o.stored === 20 && o.running === 0)).toBe(true);
  });

  it("a process killed with SIGKILL around its jobs' pauses leaves each running at a committed task or paused at its pause point", async () => {
    const runs = await sweep([
      { name: "the first handler", after: nthLine("step ") },
      { name: "the first pause from outside", after: nthLine("paused ") },
      { name: "the first pause from inside", after: (child: Child) => child.waitForLine((l) => l.startsWith("rested ") && /"(inside|deferred)"/.test(l)) },
      { name: "the fifth job at rest", after: nthLine("rested ", 5) },
      { name: "every job at rest", after: (child: Child) => child.waitForLine((l) => l === "settled") },
    ], { delays: 3, kinds: "inside,deferred,outside,plain", "pause-spread": 12 });
    const outcomes = await Promise.all(runs.map(async (run) => {
      const { where, db, effects, child } = run;
      const before = await storedJobs(db);
      expectEffectsOfStoredJobs(readEffects(effects), before, where);
      const { stored, rested, paused } = reported(child);
      for (const jobId of stored) expect(before.has(jobId), `${where}: start() resolved for ${jobId}`).toBe(true);
      // A pause that resolved, or a job reported at rest, is durable: the store says so.
      for (const jobId of paused) expect(before.get(jobId)?.status, `${where}: pause() resolved for ${jobId}`).toBe("paused");
      for (const r of rested) {
        const job = before.get(r.jobId)!;
        expect(job.status, `${where}: ${r.jobId} was reported ${r.status}`).toBe(r.status);
        // Reported paused from inside: the pausing handler's work is in the store as well.
        if (r.status === "paused" && r.reason !== "outside") expect(job.logged, `${where}: ${r.jobId}`).toEqual(ALL_STEPS.slice(0, PAUSE_STEP + 1));
      }
      for (const job of before.values()) {
        const at = `${where}, ${job.kind} job ${job.jobId}`;
        expect(["running", "paused", "completed"], at).toContain(job.status);
        expectConsistent(job, at);
        // Paused: at its pause point, which says why; else never paused (nothing here resumes a job).
        expect(job.pauseReasons, at).toEqual(job.status === "paused" ? [job.kind] : []);
        if (job.status === "paused" && job.kind !== "outside") expect(job.logged.length, at).toBeGreaterThanOrEqual(PAUSE_STEP);
      }
      const left = [...before.values()].filter((j) => j.status !== "completed");
      const { recovered, results } = await recoverHere(db, effects, true);
      // Paused jobs come back too (their handlers may run at once: statuses are not compared).
      expect(recovered, where).toEqual(new Set(left.map((j) => j.jobId)));
      for (const result of results) {
        const at = `${where}, recovered ${result.kind} job ${result.jobId}`;
        expectExactlyOnce(result, at);
        const kinds: Kind[] = ["inside", "deferred", "outside"];
        for (const reason of result.pauseReasons) expect(reason, at).toBe(result.kind);
        if (result.kind === "inside" || result.kind === "deferred") expect(result.pauseReasons.length, at).toBeGreaterThan(0);
        expect(kinds.includes(result.kind) || result.pauseReasons.length === 0, at).toBe(true);
      }
      await expectAllDone(run, new Set(before.keys()));
      return {
        paused: left.filter((j) => j.status === "paused").length,
        running: left.filter((j) => j.status === "running").length,
        deferred: left.filter((j) => j.deferred.length > 0).length,
      };
    }));
    expect(outcomes.some((o) => o.paused > 0)).toBe(true);
    expect(outcomes.some((o) => o.running > 0)).toBe(true);
    expect(outcomes.some((o) => o.deferred > 0)).toBe(true);
  });

  it("two processes resuming the same paused jobs at once: each job runs in one, the other is refused and runs none of it", async () => {
    const { db, effects } = newFiles();
    const store = new SqliteJobStore({ path: db });
    const flow = buildFaultFlow({ store, effects });
    // Paused from inside (the next step queued, or deferred), and from outside.
    const jobs = await Promise.all((["inside", "deferred", "outside", "inside"] as const).map((kind) => flow.start("s0", { metadata: { kind } })));
    await Promise.all(jobs.filter((j) => j.metadata.kind === "outside").map((j) => flow.pause(j, { reason: "outside" })));
    for (const job of jobs) expect((await job.result()).status).toBe("paused");
    const pausedAt = new Map(jobs.map((j) => [j.jobId, j.sharedLog.length]));
    await flow.shutdown();
    await store.close();
    const before = readEffects(effects).length;
    // The resumed steps take a while, so both resumes of a job are under way at once.
    const children = [0, 1].map(() => start("resume", { db, effects, jobs: jobs.map((j) => j.jobId).join(","), go: true, delays: 30 }));
    await Promise.all(children.map((c) => c.waitForLine((l) => l === "ready")));
    for (const child of children) child.send("go");
    await Promise.all(children.map(ended));
    const resumedEffects = readEffects(effects).slice(before);
    const stored = await storedJobs(db);
    for (const job of jobs) {
      const jobId = job.jobId;
      const where = `${String(job.metadata.kind)} job ${jobId}, resumed by two processes`;
      const winners = children.filter((c) => linesOf<Summary>(c, "result").some((r) => r.jobId === jobId));
      expect(winners, where).toHaveLength(1);
      const winner = winners[0]!;
      const loser = children.find((c) => c !== winner)!;
      expectExactlyOnce(linesOf<Summary>(winner, "result").find((r) => r.jobId === jobId)!, where);
      const refused = linesOf<{ jobId: string; name: string; message: string; status: string }>(loser, "refused").find((r) => r.jobId === jobId);
      expect(refused, `${where}: ${loser.lines.join("\n")}`).toBeDefined();
      expect(["JobStateError", "StoreError"], where).toContain(refused!.name);
      expect(refused!.message, where).toMatch(new RegExp(`Job '${jobId}'.*(holds revision \\d+|running in another process|has ended)`));
      expect(refused!.status, `${where}: the refused copy goes back to paused`).toBe("paused");
      // The loser ran none of its handlers; the winner ran each remaining step once.
      const remaining = ALL_STEPS.slice(pausedAt.get(jobId));
      expect(resumedEffects.filter((e) => e.jobId === jobId).map((e) => `${e.pid} ${e.step}`), where).toEqual(remaining.map((step) => `${winner.pid} ${step}`));
      const after = stored.get(jobId)!;
      expectExactlyOnce(after, where);
      expect(after.outputBy.slice(pausedAt.get(jobId)), where).toEqual(remaining.map(() => winner.pid));
    }
  });

  it("two processes recovering at once with paused jobs included: each job runs in one process only", async () => {
    const { db, effects } = newFiles();
    // 4 plain jobs stay in their step 2 (5 s); the other 12 pause (inside, deferred, and from outside).
    const first = start("start", { db, effects, jobs: 16, kinds: "plain,inside,deferred,outside", delays: "1,1,5000", hold: true });
    await first.waitForLines((l) => l.startsWith("rested ") && l.includes('"paused"'), 12);
    await first.waitForLines((l) => /^step \S+ 2$/.test(l), 4);
    await kill(first);
    const before = await storedJobs(db);
    const statuses = [...before.values()].map((j) => j.status);
    expect(statuses.filter((s) => s === "running")).toHaveLength(4);
    expect(statuses.filter((s) => s === "paused")).toHaveLength(12);
    const killedAt = readEffects(effects).length;

    const children = [0, 1].map(() => start("recover", { db, effects, "include-paused": true, go: true, delays: 20 }));
    await Promise.all(children.map((c) => c.waitForLine((l) => l === "ready")));
    for (const child of children) child.send("go");
    await Promise.all(children.map(ended));
    const got = children.map((c) => new Map(linesOf<Array<{ jobId: string; status: string }>>(c, "recovered")[0]!.map((j) => [j.jobId, j.status])));
    const results = children.map((c) => new Map(linesOf<Summary>(c, "result").map((r) => [r.jobId, r])));
    const refusals = children.map((c) => new Map(linesOf<{ jobId: string; name: string; message: string }>(c, "refused").map((r) => [r.jobId, r])));
    const effectsAfter = readEffects(effects).slice(killedAt);
    for (const [jobId, job] of before) {
      const where = `${job.kind} job ${jobId}, ${job.status} at the kill`;
      const takers = [0, 1].filter((i) => got[i]!.has(jobId));
      // A running job is leased to one process; a paused one may come back to both, but runs in one.
      if (job.status === "running") expect(takers, where).toHaveLength(1);
      else expect(takers.length, where).toBeGreaterThanOrEqual(1);
      const runners = [0, 1].filter((i) => results[i]!.has(jobId));
      expect(runners, where).toHaveLength(1);
      expectExactlyOnce(results[runners[0]!]!.get(jobId)!, where);
      for (const i of takers.filter((t) => t !== runners[0])) {
        const refused = refusals[i]!.get(jobId);
        expect(refused, `${where}: process ${i} took it but neither ran it nor was refused`).toBeDefined();
        expect(refused!.message, where).toMatch(/holds revision \d+|running in another process|has ended/);
      }
      const pids = new Set(effectsAfter.filter((e) => e.jobId === jobId).map((e) => e.pid));
      expect(pids, `${where}: its handlers after the kill ran in one process`).toEqual(new Set([children[runners[0]!]!.pid]));
    }
    const after = await storedJobs(db);
    for (const job of after.values()) expectExactlyOnce(job, `stored job ${job.jobId}`);
    expect(after.size).toBe(16);
  });

  it("a process stopped (SIGSTOP) past its lease loses its jobs to the process that recovers them, and writes nothing more after SIGCONT", async () => {
    const LEASE_MS = 500;
    // "mid": A goes on while B runs the jobs; "end": once B has completed them.
    await Promise.all((["mid", "end"] as const).map(async (when) => {
      const { db, effects } = newFiles();
      // A's step 1 would take 10 s; its handlers go on writing 20 ms after their signal is aborted.
      const a = start("start", { db, effects, jobs: 4, lease: LEASE_MS, delays: "1,10000" });
      await a.waitForLines((l) => /^step \S+ 1$/.test(l), 4);
      // Step 0 of every job is in the store: what A wrote before the stop.
      while ([...(await storedJobs(db)).values()].filter((j) => j.logged.length === 1).length < 4) await sleep(50);
      const { b } = await takeOverStopped(a, { db, effects }, {
        leaseMs: LEASE_MS, jobs: 4, label: when, meanwhile: (b) => (when === "end" ? ended(b) : Promise.resolve()),
      });
      const where = `A continued at the ${when} of B's run`;
      const jobIds = linesOf<string>(a, "created").concat(linesOf<string>(a, "stored"));
      expect(jobIds, where).toHaveLength(4);
      // A's handlers were told to stop, and A's waiters learned that the lease was taken.
      const aborted = linesOf<{ jobId: string; step: number; name: string; message: string }>(a, "aborted");
      const failed = linesOf<{ jobId: string; name: string; message: string }>(a, "result-error");
      for (const jobId of jobIds) {
        const abort = aborted.find((x) => x.jobId === jobId);
        expect(abort, `${where}: job ${jobId}'s handler was not aborted; A printed:\n${a.lines.join("\n")}`).toBeDefined();
        expect(abort!.step, where).toBe(1);
        expect(abort!.name, where).toBe("StoreError");
        expect(abort!.message, where).toMatch(/lease .*taken|taken over by another process/);
        const failure = failed.find((x) => x.jobId === jobId);
        expect(failure, `${where}: job ${jobId}'s result() did not reject; A printed:\n${a.lines.join("\n")}`).toBeDefined();
        expect(failure!.name, where).toBe("StoreError");
        expect(failure!.message, where).toContain(jobId);
        expect(failure!.message, where).toMatch(/lease .*taken|taken over by another process/);
      }
      // A's handlers went on writing after the abort (they print "late"), and none of it counts.
      expect(linesOf<string>(a, "late").length, where).toBe(4);
      const byA = readEffects(effects).filter((e) => e.pid === a.pid);
      expect(byA.every((e) => e.step <= 1), `${where}: A began no step after the stop`).toBe(true);
      const results = linesOf<Summary>(b, "result");
      expect(results.map((r) => r.jobId).sort(), where).toEqual([...jobIds].sort());
      for (const result of results) expectExactlyOnce(result, `${where}, B's job ${result.jobId}`);
      const stored = await storedJobs(db);
      for (const jobId of jobIds) {
        const job = stored.get(jobId)!;
        expectExactlyOnce(job, `${where}, stored job ${jobId}`);
        // Step 0 is A's, committed before the stop; every later step is B's.
        expect(job.outputBy, where).toEqual([a.pid, b.pid, b.pid, b.pid]);
        expect(job.recovered, where).toBe(1);
      }
    }));
  });

  it("a process stopped (SIGSTOP) past its lease begins no activation after SIGCONT: it renews first and, finding the lease taken, stops its jobs", async () => {
    // A renews every second; every step from step 1 on takes 100 ms, so when A continues the steps it
    // had in flight are most likely due before its next renewal, and would begin the next ones at once.
    const LEASE_MS = 3000;
    const { db, effects } = newFiles();
    const a = start("start", { db, effects, jobs: 2, lease: LEASE_MS, delays: "1,100" });
    await a.waitForLines((l) => /^step \S+ 1$/.test(l), 2);
    while ([...(await storedJobs(db)).values()].filter((j) => j.logged.length >= 1).length < 2) await sleep(20);
    // B runs on past the steps A had in flight before A continues.
    const { b, stepsBeforeStop } = await takeOverStopped(a, { db, effects }, {
      leaseMs: LEASE_MS, jobs: 2, label: "A stopped past its lease", meanwhile: (b) => b.waitForLines((l) => /^step \S+ [23]$/.test(l), 2),
    });
    const byA = readEffects(effects).filter((e) => e.pid === a.pid);
    expect(byA.length, `A began a step after SIGCONT; A printed:\n${a.lines.join("\n")}`).toBe(stepsBeforeStop);
    const jobIds = linesOf<string>(a, "created").concat(linesOf<string>(a, "stored"));
    const failed = linesOf<{ jobId: string; name: string; message: string }>(a, "result-error");
    for (const jobId of jobIds) {
      const failure = failed.find((x) => x.jobId === jobId);
      expect(failure, `job ${jobId}'s result() in A did not reject; A printed:\n${a.lines.join("\n")}`).toBeDefined();
      expect(failure!.name).toBe("StoreError");
      expect(failure!.message).toMatch(/lease .*taken|taken over by another process/);
    }
    const stored = await storedJobs(db);
    for (const result of linesOf<Summary>(b, "result")) expectExactlyOnce(result, `B's job ${result.jobId}`);
    for (const jobId of jobIds) expectExactlyOnce(stored.get(jobId)!, `stored job ${jobId}`);
  });
});
