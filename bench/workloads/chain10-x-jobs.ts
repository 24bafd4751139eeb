// chain10_x_jobs: a flow of 10 routines in a chain; 2,000 jobs run one after another, each awaited
// with JobState.waitForCompletion. Measures per-job overhead: start, 10 activations, settle, await.
import { Flow, JobState, Routine, type FlowOptions, type Payload } from "../../src/index.js";
import { check, secondsSince, type Workload } from "../workload.js";

export const CHAIN_LENGTH = 10;
export const CHAIN_JOBS = 2_000;

/** One link of the chain: an async handler that emits the next step. */
class Step extends Routine {
  constructor(entry: boolean) {
    super();
    this.defineSlot(entry ? "trigger" : "input", this.step);
    this.defineEvent("next", ["step"]);
  }

  async step(data: Payload): Promise<void> {
    this.emit("next", { step: (data.step as number) + 1 });
  }
}

/** A flow of `length` routines `r0 -> r1 -> ... -> r{length-1}`; its entry is "r0". */
export function buildChainFlow(options: FlowOptions = {}, length = CHAIN_LENGTH): Flow {
  const flow = new Flow(options);
  for (let i = 0; i < length; i++) flow.addRoutine(new Step(i === 0), `r${i}`);
  for (let i = 1; i < length; i++) flow.connect(`r${i - 1}`, "next", `r${i}`, "input");
  return flow;
}

/** Runs `jobs` jobs of a chain flow one after another; returns the seconds they took. */
export async function runChainJobs(flow: Flow, jobs = CHAIN_JOBS): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < jobs; i++) {
    const job = flow.execute("r0", { entryParams: { step: 0 } });
    await JobState.waitForCompletion(flow, job);
    check(job.status === "completed", `chain job ${i} ended ${job.status}`);
  }
  return secondsSince(start);
}

const workload: Workload = {
  name: "chain10_x_jobs",
  async run() {
    const flow = buildChainFlow();
    const seconds = await runChainJobs(flow);
    const activations = flow.executionTracker.getRoutinePerformance(`r${CHAIN_LENGTH - 1}`).activations;
    check(activations === CHAIN_JOBS, `the last routine ran ${activations} times, expected ${CHAIN_JOBS}`);
    await flow.shutdown();
    return { tasks: CHAIN_LENGTH * CHAIN_JOBS, seconds };
  },
};

export default workload;
