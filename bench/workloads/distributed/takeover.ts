// takeover_ms: a worker process holding 100 running jobs is killed with SIGKILL; the time until
// every job runs again in another worker process (which already runs, idle). `takeover_ms` is
// that time on one host, where the dead process's leases are void at once; `takeover_ms_stalled`
// is the same with the holder stopped (SIGSTOP) instead, as a host that died would look from
// another host: its leases must expire (`lease_ms`). `tasks` counts the jobs taken over.
import { PostgresJobStore } from "../../../src/index.js";
import { check, type Workload } from "../../workload.js";
import { holdFlow } from "./flows.js";
import { postgresUnavailable, withDatabase } from "./pg.js";
import { go, startWorker, stop, type WorkerProcess } from "./processes.js";

const JOBS = 100;
const LEASE_MS = 2_000;

function waitFor(proc: WorkerProcess, condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (condition()) return resolve();
    proc.onLine = () => condition() && resolve();
  });
}

/** Milliseconds from the holder's `signal` until the other worker holds every job. */
function takeover(signal: "SIGKILL" | "SIGSTOP"): Promise<number> {
  return withDatabase(async (url) => {
    const store = new PostgresJobStore({ connectionString: url, leaseMs: LEASE_MS });
    const procs: WorkerProcess[] = [];
    try {
      await store.ready();
      const flow = holdFlow(store, "workers");
      await Promise.all(Array.from({ length: JOBS }, () => flow.start("hold")));
      const holder = startWorker(url, "hold", JOBS, LEASE_MS);
      procs.push(holder);
      await holder.ready;
      go(holder);
      await waitFor(holder, () => holder.claimed === JOBS);
      const other = startWorker(url, "hold", JOBS, LEASE_MS);
      procs.push(other);
      await other.ready;
      go(other);
      // The holder's leases are renewed; the other finds nothing to take.
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS / 2));
      check(other.claimed === 0, `the idle worker took ${other.claimed} jobs from a live one`);
      const taken = waitFor(other, () => other.claimed === JOBS);
      const start = performance.now();
      holder.child.kill(signal);
      await taken;
      return performance.now() - start;
    } finally {
      await Promise.all(procs.map((p) => stop(p, "SIGKILL")));
      await store.close();
    }
  });
}

const workload: Workload = {
  name: "takeover_ms",
  unavailable: postgresUnavailable,
  async run() {
    const killed = await takeover("SIGKILL");
    const stalled = await takeover("SIGSTOP");
    return { tasks: JOBS, seconds: killed / 1000, takeover_ms: killed, takeover_ms_stalled: stalled, lease_ms: LEASE_MS };
  },
};

export default workload;
