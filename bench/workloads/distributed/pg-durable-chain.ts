// pg_durable_chain: durable_chain on a PostgresJobStore: 2,000 jobs of a 10-routine chain, one
// after another, each awaited, one process; every task committed before it counts. With the
// store's default synchronousCommit "off" (as the SQLite store's synchronous "normal": it survives
// a killed process); `tasks_per_s_sync_on` is the same run with every group commit flushed to disk.
import { PostgresJobStore } from "../../../src/index.js";
import { check, type Workload } from "../../workload.js";
import { CHAIN_JOBS, CHAIN_LENGTH, buildChainFlow, runChainJobs } from "../chain10-x-jobs.js";
import { postgresUnavailable, withDatabase } from "./pg.js";

const workload: Workload = {
  name: "pg_durable_chain",
  unavailable: postgresUnavailable,
  async run() {
    const seconds = await chain("off");
    const on = await chain("on");
    return { tasks: CHAIN_LENGTH * CHAIN_JOBS, seconds, tasks_per_s_sync_on: (CHAIN_LENGTH * CHAIN_JOBS) / on };
  },
};

function chain(synchronousCommit: "on" | "off"): Promise<number> {
  return withDatabase(async (url) => {
    const store = new PostgresJobStore({ connectionString: url, synchronousCommit });
    try {
      await store.ready();
      const flow = buildChainFlow({ flowId: "pg_durable_chain", store });
      const seconds = await runChainJobs(flow);
      const activations = flow.executionTracker.getRoutinePerformance(`r${CHAIN_LENGTH - 1}`).activations;
      check(activations === CHAIN_JOBS, `the last routine ran ${activations} times, expected ${CHAIN_JOBS}`);
      await flow.shutdown();
      const stored = await store.listJobs({ flowId: "pg_durable_chain", status: "completed" });
      check(stored.length === CHAIN_JOBS, `the store holds ${stored.length} completed jobs, expected ${CHAIN_JOBS}`);
      return seconds;
    } finally {
      await store.close();
    }
  });
}

export default workload;
