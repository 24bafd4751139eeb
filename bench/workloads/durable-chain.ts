// durable_chain: chain10_x_jobs with the SQLite store on a temporary file: 2,000 jobs of a
// 10-routine chain, one after another, each awaited. Every task is committed before it counts,
// no handler of a job runs before the job is stored, and a job's completion is reported only once
// its commits are durable (two group commits per job here, since each job is awaited before the
// next starts). Measures the cost of never losing work.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteJobStore } from "../../src/index.js";
import { check, type Workload } from "../workload.js";
import { CHAIN_JOBS, CHAIN_LENGTH, buildChainFlow, runChainJobs } from "./chain10-x-jobs.js";

const workload: Workload = {
  name: "durable_chain",
  async run() {
    const folder = mkdtempSync(join(tmpdir(), "routilux-bench-"));
    const store = new SqliteJobStore({ path: join(folder, "jobs.db") });
    try {
      const flow = buildChainFlow({ flowId: "durable_chain", store });
      const seconds = await runChainJobs(flow);
      const activations = flow.executionTracker.getRoutinePerformance(`r${CHAIN_LENGTH - 1}`).activations;
      check(activations === CHAIN_JOBS, `the last routine ran ${activations} times, expected ${CHAIN_JOBS}`);
      await flow.shutdown();
      const stored = await store.listJobs({ flowId: "durable_chain", status: "completed" });
      check(stored.length === CHAIN_JOBS, `the store holds ${stored.length} completed jobs, expected ${CHAIN_JOBS}`);
      return { tasks: CHAIN_LENGTH * CHAIN_JOBS, seconds };
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    }
  },
};

export default workload;
