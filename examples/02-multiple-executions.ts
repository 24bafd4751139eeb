/**
 * Guide: "Multiple Independent Executions".
 *
 * The same flow runs any number of times; every `execute()` returns a new, independent JobState
 * with its own id, history, routine states and status.
 *
 * Run: npx tsx examples/02-multiple-executions.ts
 */
import assert from "node:assert/strict";
import { Flow, JobState, Routine } from "../src/index.js";

class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.send);
    this.defineEvent("output", ["data"]);
  }

  send(data: Record<string, unknown>): void {
    this.emit("output", { data: data.value ?? "test" });
  }
}

const flow = new Flow({ flowId: "my_flow" });
const sourceId = flow.addRoutine(new Source(), "source");

// Execute the same flow three times: three jobs, running side by side.
const jobState1 = flow.execute(sourceId, { entryParams: { value: "A" } });
const jobState2 = flow.execute(sourceId, { entryParams: { value: "B" } });
const jobState3 = flow.execute(sourceId, { entryParams: { value: "C" } });

// Each execution has its own JobState.
assert.notEqual(jobState1.jobId, jobState2.jobId);
assert.notEqual(jobState2.jobId, jobState3.jobId);
assert.notEqual(jobState1, jobState2);

await Promise.all([jobState1, jobState2, jobState3].map((job) => JobState.waitForCompletion(flow, job)));

// Each has its own execution history.
console.log(`Execution 1 history: ${jobState1.executionHistory.length} records`);
console.log(`Execution 2 history: ${jobState2.executionHistory.length} records`);
console.log(`Execution 3 history: ${jobState3.executionHistory.length} records`);

// ... and saw only its own data.
for (const [i, job] of [jobState1, jobState2, jobState3].entries()) {
  const output = job.getExecutionHistory("source").find((r) => r.eventName === "output");
  console.log(`Execution ${i + 1} emitted: ${JSON.stringify(output?.data)} (${job.status})`);
}
