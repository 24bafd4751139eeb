// fanout_tasks: one job; the entry routine emits 100,000 events to one sink slot. Raw task throughput.
import { Flow, JobState, Routine, type Payload } from "../../src/index.js";
import { check, secondsSince, type Workload } from "../workload.js";

export const FANOUT_EVENTS = 100_000;

class Source extends Routine {
  constructor(readonly count: number) {
    super();
    this.defineSlot("trigger", this.fan);
    this.defineEvent("item", ["i"]);
  }

  async fan(): Promise<void> {
    for (let i = 0; i < this.count; i++) this.emit("item", { i });
  }
}

class Sink extends Routine {
  received = 0;

  constructor() {
    super();
    this.defineSlot("input", this.take);
  }

  async take(_data: Payload): Promise<void> {
    this.received++;
  }
}

/** One job whose entry emits `events` events to a sink; returns the seconds from execute to completion. */
export async function runFanout(events: number): Promise<number> {
  const flow = new Flow();
  const sink = new Sink();
  flow.addRoutine(new Source(events), "source");
  flow.addRoutine(sink, "sink");
  flow.connect("source", "item", "sink", "input");
  const start = performance.now();
  const job = flow.execute("source");
  await JobState.waitForCompletion(flow, job);
  const seconds = secondsSince(start);
  check(job.status === "completed", `fanout job ended ${job.status}`);
  check(sink.received === events, `the sink ran ${sink.received} times, expected ${events}`);
  await flow.shutdown();
  return seconds;
}

const workload: Workload = {
  name: "fanout_tasks",
  async run() {
    return { tasks: FANOUT_EVENTS + 1, seconds: await runFanout(FANOUT_EVENTS) };
  },
};

export default workload;
