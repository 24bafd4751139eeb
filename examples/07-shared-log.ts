/**
 * Guide: "Storing Business Data", 2. shared_log (append-only list).
 *
 * `sharedLog` is an append-only log of business events of one job. `getSharedLog()` returns a
 * copy. Like `sharedData` it is serialized with the JobState and never shared between jobs.
 *
 * Run: npx tsx examples/07-shared-log.ts
 */
import { Flow, JobState, Routine } from "../src/index.js";

class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.send);
    this.defineEvent("output", ["data"]);
  }

  send(data: Record<string, unknown>): void {
    for (const item of data.items as string[]) this.emit("output", { data: item });
  }
}

class Logger extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.process);
  }

  process(data: Record<string, unknown>): void {
    const ctx = this.getExecutionContext();
    if (ctx !== undefined) {
      // Append to the log
      ctx.jobState.appendToSharedLog({
        timestamp: new Date().toISOString(),
        action: "process",
        data: data.data,
      });

      // Read the log
      const log = ctx.jobState.getSharedLog();
      console.log(`Total log entries: ${log.length}`);
    }
  }
}

const flow = new Flow({ flowId: "shared_log_demo" });
flow.addRoutine(new Source(), "source");
flow.addRoutine(new Logger(), "logger");
flow.connect("source", "output", "logger", "input");

const job = flow.execute("source", { entryParams: { items: ["first", "second", "third"] } });
await JobState.waitForCompletion(flow, job);

for (const entry of job.getSharedLog() as Array<{ action: string; data: string }>) {
  console.log(`log: ${entry.action} ${entry.data}`);
}
console.log(`Serialized sharedLog entries: ${job.serialize().sharedLog.length}`);
