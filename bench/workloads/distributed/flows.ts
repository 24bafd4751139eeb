// Flows of the distributed workloads besides the chain.
import { Flow, Routine, type HandlerContext, type JobStore } from "../../../src/index.js";

/** One routine that holds its job running until the job is stopped here: a job a worker holds. */
export function holdFlow(store: JobStore, runJobs: "here" | "workers" = "here"): Flow {
  const flow = new Flow({ flowId: "dist_hold", store, runJobs, maxWorkers: 256 });
  const hold = new Routine();
  hold.defineSlot("trigger", async (_data: unknown, ctx: HandlerContext) => {
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
  });
  flow.addRoutine(hold, "hold");
  return flow;
}
