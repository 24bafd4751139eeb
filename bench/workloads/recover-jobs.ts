// recover_jobs: a SQLite store holding 10,000 running jobs left by a process that died (their
// leases lapsed); flow.recover() in a fresh store handle until every job runs again here. Each job
// is one the flow really ran up to a held step: its snapshot and log are copies of a real job's.
// `tasks` counts jobs; `jobs_per_s` is the figure of the target.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Flow, Routine, SqliteJobStore, type HandlerContext, type JobStore, type JobWrite, type Payload } from "../../src/index.js";
import { check, secondsSince, type Workload } from "../workload.js";

const JOBS = 10_000;
const BATCH = 500;

/** Steps through a few emits, then holds (until told to stop): a job caught mid-run. */
class Held extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.step);
    this.defineSlot("input", this.step);
    this.defineEvent("next", ["step"]);
  }

  async step(data: Payload, ctx: HandlerContext): Promise<void> {
    const step = (data.step as number | undefined) ?? 0;
    ctx.jobState.appendToSharedLog({ step });
    if (step < 3) {
      ctx.emit("next", { step: step + 1 });
      return;
    }
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
  }
}

function heldFlow(store: JobStore): Flow {
  const flow = new Flow({ flowId: "recover_jobs", store });
  flow.addRoutine(new Held(), "held");
  flow.connect("held", "next", "held", "input");
  return flow;
}

/** Fills `path` with JOBS copies of one job caught at its held step, leased to a process that is gone. */
async function fill(path: string): Promise<void> {
  const store = new SqliteJobStore({ path });
  const flow = heldFlow(store);
  const job = await flow.start("held");
  for (let i = 0; i < 100 && job.sharedLog.length < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  await store.loadJob(job.jobId);
  const template = (await store.readJob(job.jobId))!;
  await flow.shutdown();
  const past = Date.now() - 3_600_000;
  for (let from = 0; from < JOBS; from += BATCH) {
    const jobs: JobWrite[] = [];
    for (let i = from; i < Math.min(JOBS, from + BATCH); i++) {
      const jobId = `job-${i}`;
      jobs.push({
        jobId, flowId: "recover_jobs", status: "running", createdAtMs: past + i, updatedAtMs: past + i,
        previousSeq: 0, epoch: 0, acquire: true,
        snapshot: { seq: template.snapshotSeq, data: template.snapshot.replaceAll(job.jobId, jobId) },
        commits: template.commits,
      });
    }
    const result = await store.commit({ owner: "a-process-that-died", nowMs: past, leaseUntilMs: past + 1, jobs });
    check(result.fenced.length === 0, `filling the store fenced ${result.fenced.length} jobs`);
  }
  await store.close();
}

const workload: Workload = {
  name: "recover_jobs",
  async run() {
    const folder = mkdtempSync(join(tmpdir(), "routilux-bench-"));
    const path = join(folder, "jobs.db");
    try {
      await fill(path);
      const store = new SqliteJobStore({ path });
      const flow = heldFlow(store);
      const start = performance.now();
      const jobs = await flow.recover();
      const seconds = secondsSince(start);
      check(jobs.length === JOBS, `recovered ${jobs.length} jobs, expected ${JOBS}`);
      for (const job of jobs) check(job.status === "running", `a recovered job is ${job.status}`);
      await flow.shutdown({ graceMs: 5_000 });
      await store.close();
      return { tasks: JOBS, seconds, jobs_per_s: JOBS / seconds };
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
};

export default workload;
