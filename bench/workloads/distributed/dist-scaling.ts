// dist_scaling: 2,000 chain-of-10 jobs started on a PostgresJobStore for workers, then run by 1,
// 2 and 4 worker processes (each runs up to 50 jobs at once). Timed from "go" (the processes are
// started and connected) until every job finished. `tasks_per_s_N` for each; `scaling_4` =
// tasks/s(4) / tasks/s(1). `tasks` and `seconds` are those of the 4-worker run.
import { PostgresJobStore } from "../../../src/index.js";
import { check, secondsSince, type Workload } from "../../workload.js";
import { CHAIN_LENGTH, buildChainFlow } from "../chain10-x-jobs.js";
import { postgresUnavailable, withDatabase } from "./pg.js";
import { go, startWorker, stop, type WorkerProcess } from "./processes.js";

const JOBS = 2_000;
const CONCURRENCY = 50;

/** Starts JOBS jobs for workers in a fresh database, then times `workers` processes running them. */
function runWith(workers: number): Promise<number> {
  return withDatabase(async (url) => {
    const store = new PostgresJobStore({ connectionString: url });
    const procs: WorkerProcess[] = [];
    try {
      await store.ready();
      const flow = buildChainFlow({ flowId: "dist_chain", store, runJobs: "workers" });
      for (let i = 0; i < JOBS; i += 200) await Promise.all(Array.from({ length: 200 }, () => flow.start("r0", { entryParams: { step: 0 } })));
      for (let i = 0; i < workers; i++) procs.push(startWorker(url, "chain", CONCURRENCY, 15_000));
      await Promise.all(procs.map((p) => p.ready));
      const done = new Promise<void>((resolve) => {
        for (const p of procs) p.onLine = () => procs.reduce((n, q) => n + q.finished, 0) >= JOBS && resolve();
      });
      const start = performance.now();
      for (const p of procs) go(p);
      await done;
      const seconds = secondsSince(start);
      const completed = await store.listJobs({ flowId: "dist_chain", status: "completed" });
      check(completed.length === JOBS, `the store holds ${completed.length} completed jobs, expected ${JOBS}`);
      return seconds;
    } finally {
      await Promise.all(procs.map((p) => stop(p)));
      await store.close();
    }
  });
}

const workload: Workload = {
  name: "dist_scaling",
  unavailable: postgresUnavailable,
  async run() {
    const tasks = JOBS * CHAIN_LENGTH;
    const one = await runWith(1);
    const two = await runWith(2);
    const four = await runWith(4);
    return {
      tasks,
      seconds: four,
      tasks_per_s_1: tasks / one,
      tasks_per_s_2: tasks / two,
      tasks_per_s_4: tasks / four,
      scaling_4: one / four,
    };
  },
};

export default workload;
