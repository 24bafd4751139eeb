// io_concurrent: 1,000 jobs started at once, each a chain of 4 routines whose handlers each await a
// 20 ms timer; concurrent strategy, maxWorkers 1,000. Ideal wall time: 4 x 20 ms = 80 ms.
import { setTimeout as sleep } from "node:timers/promises";
import { Flow, JobState, Routine, type Payload } from "../../src/index.js";
import { check, secondsSince, type Workload } from "../workload.js";

const JOBS = 1_000;
const LENGTH = 4;
const WAIT_MS = 20;
const IDEAL_SECONDS = (LENGTH * WAIT_MS) / 1000;

/** A step that waits for "I/O" (a timer), then emits: the emit after the await goes through the async context. */
class IoStep extends Routine {
  constructor(entry: boolean) {
    super();
    this.defineSlot(entry ? "trigger" : "input", this.call);
    this.defineEvent("done", ["step"]);
  }

  async call(data: Payload): Promise<void> {
    await sleep(WAIT_MS);
    this.emit("done", { step: (data.step as number) + 1 });
  }
}

const workload: Workload = {
  name: "io_concurrent",
  async run() {
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: JOBS });
    for (let i = 0; i < LENGTH; i++) flow.addRoutine(new IoStep(i === 0), `r${i}`);
    for (let i = 1; i < LENGTH; i++) flow.connect(`r${i - 1}`, "done", `r${i}`, "input");
    const start = performance.now();
    const jobs: JobState[] = [];
    for (let i = 0; i < JOBS; i++) jobs.push(flow.execute("r0", { entryParams: { step: 0 } }));
    await Promise.all(jobs.map((job) => JobState.waitForCompletion(flow, job)));
    const seconds = secondsSince(start);
    for (const job of jobs) check(job.status === "completed", `io job ended ${job.status}`);
    await flow.shutdown();
    return { tasks: JOBS * LENGTH, seconds, ratio_to_ideal: seconds / IDEAL_SECONDS };
  },
};

export default workload;
