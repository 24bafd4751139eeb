// idle_jobs_memory: 10,000 jobs of a 3-routine flow, each paused by its first routine's handler
// (after it emitted, so every job holds one queued task). `bytes_per_job` = heap growth / jobs,
// measured after a full GC with every job still referenced.
import { Flow, JobState, Routine, type ExecutionContext, type Payload } from "../../src/index.js";
import { check, collectGarbage, secondsSince, type Workload } from "../workload.js";

const JOBS = 10_000;

/** Asks for approval: emits the request, then pauses its own job (human in the loop). */
class AskApproval extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.ask);
    this.defineEvent("asked", ["ticket"]);
  }

  async ask(data: Payload, ctx: ExecutionContext): Promise<void> {
    this.emit("asked", { ticket: data.ticket });
    await ctx.flow.pause(ctx.jobState, { reason: "waiting for approval" });
  }
}

class Step extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.step);
    this.defineEvent("next", ["ticket"]);
  }

  async step(data: Payload): Promise<void> {
    this.emit("next", { ticket: data.ticket });
  }
}

const workload: Workload = {
  name: "idle_jobs_memory",
  async run() {
    const flow = new Flow();
    flow.addRoutine(new AskApproval(), "ask");
    flow.addRoutine(new Step(), "review");
    flow.addRoutine(new Step(), "apply");
    flow.connect("ask", "asked", "review", "input");
    flow.connect("review", "next", "apply", "input");
    const jobs = new Array<JobState>(JOBS);
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const start = performance.now();
    for (let i = 0; i < JOBS; i++) jobs[i] = flow.execute("ask", { entryParams: { ticket: i } });
    for (const job of jobs) await JobState.waitForCompletion(flow, job);
    const seconds = secondsSince(start);
    // Let the pausing handlers settle (their emitted task joins the paused job's queue).
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    for (const job of jobs) {
      check(job.status === "paused", `job ended ${job.status}, expected paused`);
      check(job.pendingTasks.length === 1, `a paused job holds ${job.pendingTasks.length} pending tasks, expected 1`);
    }
    await flow.shutdown();
    return { tasks: JOBS, seconds, jobs: JOBS, bytes_per_job: Math.round((after - before) / JOBS) };
  },
};

export default workload;
