/**
 * Guide: "Storing Business Data", 1. shared_data (read/write dictionary).
 *
 * `sharedData` holds intermediate business data that several routines of one job read and
 * update. It belongs to the job: it is serialized with the JobState, and another job of the
 * same flow has its own.
 *
 * Run: npx tsx examples/06-shared-data.ts
 */
import { Flow, JobState, Routine } from "../src/index.js";

class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.send);
    this.defineEvent("output", ["data"]);
  }

  send(data: Record<string, unknown>): void {
    for (const batch of data.batches as string[][]) this.emit("output", { data: batch });
  }
}

class DataCollector extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.process);
  }

  process(data: Record<string, unknown>): void {
    const ctx = this.getExecutionContext();
    if (ctx !== undefined) {
      // Read data (with a default), then store the updated value
      const items = ctx.jobState.getSharedData<string[]>("items", []);
      ctx.jobState.updateSharedData("items", [...items, ...(data.data as string[])]);

      // Update derived data
      ctx.jobState.updateSharedData("count", ctx.jobState.getSharedData<string[]>("items").length);
    }
  }
}

const flow = new Flow({ flowId: "shared_data_demo" });
flow.addRoutine(new Source(), "source");
flow.addRoutine(new DataCollector(), "collector");
flow.connect("source", "output", "collector", "input");

const job1 = flow.execute("source", { entryParams: { batches: [["a", "b"], ["c"]] } });
const job2 = flow.execute("source", { entryParams: { batches: [["x"]] } });
await Promise.all([JobState.waitForCompletion(flow, job1), JobState.waitForCompletion(flow, job2)]);

console.log(`Job 1 shared data: ${JSON.stringify(job1.sharedData)}`);
console.log(`Job 2 shared data: ${JSON.stringify(job2.sharedData)}`);
console.log(`Job 1 count: ${job1.getSharedData<number>("count")}`);
console.log(`Missing key with default: ${job1.getSharedData("missing", "n/a")}`);

// Shared data is part of the serialized JobState.
console.log(`Serialized sharedData: ${JSON.stringify(job1.serialize().sharedData)}`);
