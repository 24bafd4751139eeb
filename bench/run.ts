// `npm run bench [-- --only=NAME[,NAME...]]`: runs the workloads through the public API and prints
// one JSON line per workload. Each workload runs once untimed (warm-up; `--warmup=N` for more),
// then three timed runs after a full GC and one more untimed run; the median is reported. The
// warm-ups of all workloads run first, so each is timed on a warm engine, as in a long-running
// service; each line also shows its cold warm-up figure (`warmup_tasks_per_s`). `floor` always
// runs first: every `of_floor` is relative to it.
// See bench/README.md for the fields.
import { loadavg } from "node:os";
import type { Workload, WorkloadResult } from "./workload.js";
import floor from "./workloads/floor.js";
import chain10XJobs from "./workloads/chain10-x-jobs.js";
import fanoutTasks from "./workloads/fanout-tasks.js";
import fanoutScaling from "./workloads/fanout-scaling.js";
import ioConcurrent from "./workloads/io-concurrent.js";
import durableChain from "./workloads/durable-chain.js";
import manyJobs from "./workloads/many-jobs.js";
import recoverJobs from "./workloads/recover-jobs.js";
import idleJobsMemory from "./workloads/idle-jobs-memory.js";
import pgDurableChain from "./workloads/distributed/pg-durable-chain.js";
import distScaling from "./workloads/distributed/dist-scaling.js";
import takeoverMs from "./workloads/distributed/takeover.js";

/**
 * Every workload, in the order they run. To add one: one import above, one entry here.
 * `floor` stays first (the reference of `of_floor`); idle_jobs_memory forces full GCs, so it stays last.
 */
const WORKLOADS: readonly Workload[] = [
  floor,
  chain10XJobs,
  fanoutTasks,
  fanoutScaling,
  ioConcurrent,
  manyJobs,
  durableChain,
  recoverJobs,
  pgDurableChain,
  distScaling,
  takeoverMs,
  idleJobsMemory,
];

/** Names that stand for several workloads in `--only`. */
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  dist: [pgDurableChain.name, distScaling.name, takeoverMs.name],
};

const TIMED_RUNS = 3;
/** Every timed run lasts at least this long: short workloads are repeated within a run. */
const MIN_RUN_SECONDS = 0.2;
/** At most this many repetitions make one timed run. */
const MAX_REPEATS = 1000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Rounds a number for printing: integers stay; from 1000 up to an integer; from 1 up to 3 decimals; below 1 to 6. */
function tidy(value: number): number {
  if (Number.isInteger(value)) return value;
  return Math.abs(value) >= 1000 ? Math.round(value) : round(value, Math.abs(value) >= 1 ? 3 : 6);
}

interface Options {
  only: Set<string> | undefined;
  warmups: number;
}

const USAGE = "usage: npm run bench [-- --only=NAME[,NAME...]] [--warmup=N]";

/** A bad command line: reported as one line, without a stack. */
class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Options {
  let only: Set<string> | undefined;
  let warmups = 1;
  for (const arg of argv) {
    if (arg.startsWith("--warmup=")) {
      warmups = Number(arg.slice("--warmup=".length));
      if (!Number.isInteger(warmups) || warmups < 0) throw new UsageError(`Expected --warmup=N with N an integer from 0 and up, got '${arg}'`);
    } else if (arg.startsWith("--only=")) {
      only = new Set(arg.slice("--only=".length).split(",").map((s) => s.trim()).filter((s) => s.length > 0).flatMap((s) => GROUPS[s] ?? [s]));
    } else if (arg === "--help" || arg === "-h") {
      console.log(`${USAGE}\nworkloads: ${WORKLOADS.map((w) => w.name).join(", ")}`);
      process.exit(0);
    } else {
      throw new UsageError(`Unknown argument '${arg}'; ${USAGE}`);
    }
  }
  if (only !== undefined) {
    const known = new Set(WORKLOADS.map((w) => w.name));
    const unknown = [...only].filter((name) => !known.has(name));
    if (unknown.length > 0 || only.size === 0) {
      throw new UsageError(`Unknown workload '${unknown.join("', '")}'; the workloads are: ${[...known].join(", ")} (and the group: dist)`);
    }
  }
  return { only, warmups };
}

/**
 * The timed runs; the median of `seconds` and of every numeric extra field. First a full GC, so
 * the workload does not pay for collecting what the workloads before it left, then one untimed run,
 * because a forced full GC makes V8 throw away optimized code ("weak objects" deopts). No GC
 * between the timed runs: each pays for its own garbage, as in a service.
 */
async function measure(workload: Workload): Promise<{ result: WorkloadResult; runs: number[] }> {
  const results: WorkloadResult[] = [];
  (globalThis as { gc?: () => void }).gc?.();
  await workload.run();
  for (let i = 0; i < TIMED_RUNS; i++) results.push(await timedRun(workload));
  const runs = results.map((r) => r.seconds);
  const seconds = median(runs);
  const base = results.find((r) => r.seconds === seconds) ?? results[0]!;
  const result: WorkloadResult = { ...base, seconds };
  for (const key of Object.keys(base)) {
    if (key === "tasks" || key === "seconds") continue;
    const values = results.map((r) => r[key]);
    if (values.every((v): v is number => typeof v === "number")) result[key] = median(values);
  }
  return { result, runs };
}

/**
 * One timed run: the workload repeated until the run has lasted MIN_RUN_SECONDS (a run of a few
 * milliseconds would measure the timer, not the engine). Tasks and seconds add up; the other
 * figures are the last repetition's.
 */
async function timedRun(workload: Workload): Promise<WorkloadResult> {
  let result = await workload.run();
  let tasks = result.tasks;
  let seconds = result.seconds;
  for (let repeat = 1; seconds < MIN_RUN_SECONDS && repeat < MAX_REPEATS; repeat++) {
    result = await workload.run();
    tasks += result.tasks;
    seconds += result.seconds;
  }
  return { ...result, tasks, seconds };
}

async function main(): Promise<void> {
  const { only, warmups } = parseArgs(process.argv.slice(2));
  const chosen = WORKLOADS.filter((w) => w.name === floor.name || only === undefined || only.has(w.name));
  // A workload that needs a service this machine lacks (PostgreSQL) is skipped with one line saying why.
  const selected: Workload[] = [];
  for (const workload of chosen) {
    const why = await workload.unavailable?.();
    if (why === undefined) selected.push(workload);
    else console.log(JSON.stringify({ workload: workload.name, skipped: why }));
  }
  // Warm-ups first; idle_jobs_memory forces full GCs (which drop optimized code), so it warms up last.
  const warmupRates = new Map<Workload, number>();
  const warmUp = async (workload: Workload): Promise<void> => {
    for (let i = 0; i < warmups; i++) {
      const run = await workload.run();
      if (i === 0) warmupRates.set(workload, run.tasks / run.seconds);
    }
  };
  // floor is warmed and timed before anything else loads the heap, as the reference of `of_floor`.
  await warmUp(floor);
  const floorRuns = await measure(floor);
  for (const workload of selected) if (workload !== idleJobsMemory && workload !== floor) await warmUp(workload);
  let floorRate: number | undefined;
  for (const workload of selected) {
    if (workload === idleJobsMemory) await warmUp(workload);
    const { result, runs } = workload === floor ? floorRuns : await measure(workload);
    const { tasks, seconds, ...extra } = result;
    const tasksPerS = tasks / seconds;
    if (workload === floor) floorRate = tasksPerS;
    const line: Record<string, unknown> = {
      workload: workload.name,
      tasks,
      seconds: tidy(seconds),
      tasks_per_s: Math.round(tasksPerS),
      of_floor: floorRate === undefined ? null : round(tasksPerS / floorRate, 4),
    };
    for (const [key, value] of Object.entries(extra)) line[key] = typeof value === "number" ? tidy(value) : value;
    const coldRate = warmupRates.get(workload);
    if (coldRate !== undefined) line.warmup_tasks_per_s = Math.round(coldRate);
    line.runs_s = runs.map((s) => tidy(s));
    line.load1 = round(loadavg()[0]!, 2);
    console.log(JSON.stringify(line));
  }
}

try {
  await main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
