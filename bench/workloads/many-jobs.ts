// many_jobs: 10,000 jobs started at once, each a chain of 10 synchronous routines; concurrent,
// maxWorkers 64. The scheduler under load: round robin over thousands of jobs. `peak_heap_mb` is
// the heap's high-water mark during the run (sampled every millisecond of timer time).
import { Flow, JobState, Routine, type HandlerContext, type Payload } from "../../src/index.js";
import { check, secondsSince, type Workload } from "../workload.js";

const JOBS = 10_000;
const LENGTH = 10;

class SyncStep extends Routine {
  constructor(entry: boolean) {
    super();
    this.defineSlot(entry ? "trigger" : "input", this.step);
    this.defineEvent("next", ["step"]);
  }

  step(data: Payload, ctx: HandlerContext): void {
    ctx.emit("next", { step: (data.step as number) + 1 });
  }
}

const workload: Workload = {
  name: "many_jobs",
  async run() {
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 64 });
    for (let i = 0; i < LENGTH; i++) flow.addRoutine(new SyncStep(i === 0), `r${i}`);
    for (let i = 1; i < LENGTH; i++) flow.connect(`r${i - 1}`, "next", `r${i}`, "input");
    let peak = process.memoryUsage().heapUsed;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 1);
    const start = performance.now();
    const jobs = new Array<JobState>(JOBS);
    for (let i = 0; i < JOBS; i++) jobs[i] = flow.execute("r0", { entryParams: { step: 0 } });
    await Promise.all(jobs.map((job) => JobState.waitForCompletion(flow, job)));
    const seconds = secondsSince(start);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    for (const job of jobs) check(job.status === "completed", `a job ended ${job.status}`);
    const activations = flow.executionTracker.getRoutinePerformance(`r${LENGTH - 1}`).activations;
    check(activations === JOBS, `the last routine ran ${activations} times, expected ${JOBS}`);
    await flow.shutdown();
    return { tasks: JOBS * LENGTH, seconds, peak_heap_mb: peak / 1024 / 1024 };
  },
};

export default workload;
