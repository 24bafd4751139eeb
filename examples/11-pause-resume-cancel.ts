/**
 * Guide: "Pause, Resume, and Cancel".
 *
 * `flow.pause(job)`, `flow.resume(job)` and `flow.cancel(job)` take the JobState and act on that
 * one job only; other jobs of the flow run on. `pause` resolves once the job's running handlers
 * have settled; its queued tasks stay in `job.pendingTasks`. `resume` returns the same JobState
 * (not a new one, unlike the Python guide says) and runs on from there.
 *
 * Run: npx tsx examples/11-pause-resume-cancel.ts
 */
import assert from "node:assert/strict";
import { CallbackOutputHandler, Flow, JobState, Routine } from "../src/index.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One step of a pipeline: does some asynchronous work, then passes the data on. */
class Step extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.run);
    this.defineSlot("input", this.run);
    this.defineEvent("output", ["data"]);
  }

  async run(data: Record<string, unknown>): Promise<void> {
    this.sendOutput("started", {});
    await sleep(20);
    this.emit("output", data);
  }
}

// step1 -> step2 -> step3
const flow = new Flow({ flowId: "pipeline", executionStrategy: "concurrent", maxWorkers: 4 });
flow.addRoutine(new Step(), "step1");
flow.addRoutine(new Step(), "step2");
flow.addRoutine(new Step(), "step3");
flow.connect("step1", "output", "step2", "input");
flow.connect("step2", "output", "step3", "input");

/** An output handler that tells when a routine of the job has started, and a promise of it. */
function whenStarted(routineId: string): { outputHandler: CallbackOutputHandler; started: Promise<void> } {
  let tell = (): void => {};
  const started = new Promise<void>((resolve) => (tell = resolve));
  const outputHandler = new CallbackOutputHandler((from, outputType) => {
    if (from === routineId && outputType === "started") tell();
  });
  return { outputHandler, started };
}

const steps = (job: JobState): string =>
  job.getExecutionHistory().filter((r) => r.eventName === "output").map((r) => r.routineId).join(", ") || "none";

// Execute two jobs; pause one of them while its step2 is running (each step takes 20 ms).
const step2 = whenStarted("step2");
const jobState = flow.execute("step1", { entryParams: { order: 1 }, outputHandler: step2.outputHandler });
const sibling = flow.execute("step1", { entryParams: { order: 2 } });
await step2.started;
await flow.pause(jobState, { reason: "Manual pause for inspection" }); // waits for step2 to finish
assert.equal(jobState.status, "paused");
console.log(`Paused: status=${jobState.status}, steps done: ${steps(jobState)}`);
console.log(`Pending tasks: ${jobState.pendingTasks.map((t) => `${t.routineId}.${t.slotName}`).join(", ")}`);

// The sibling is not affected by the pause.
await JobState.waitForCompletion(flow, sibling);
console.log(`Sibling: status=${sibling.status}, steps done: ${steps(sibling)}`);
console.log(`Still paused: ${jobState.status}`);

// Resume: the same JobState runs on from its pending tasks.
const resumedJobState = flow.resume(jobState);
console.log(`resume() returned the same JobState: ${resumedJobState === jobState}`);
await JobState.waitForCompletion(flow, resumedJobState, { timeoutMs: 5000 });
assert.equal(resumedJobState.status, "completed");
console.log(`Resumed: status=${resumedJobState.status}, steps done: ${steps(resumedJobState)}`);

// Cancel another execution while its first handler is running.
const step1 = whenStarted("step1");
const anotherJobState = flow.execute("step1", { outputHandler: step1.outputHandler });
await step1.started;
await flow.cancel(anotherJobState, { reason: "No longer needed" });
assert.equal(anotherJobState.status, "cancelled");
console.log(`Cancelled: status=${anotherJobState.status}, steps done: ${steps(anotherJobState)}`);
const record = anotherJobState.executionHistory.at(-1);
console.log(`Last record: ${record?.routineId} -> ${record?.eventName} ${JSON.stringify(record?.data)}`);

// cancel() waited for the running handler; what it emitted afterwards was discarded.
console.log(`History: ${anotherJobState.executionHistory.map((r) => `${r.routineId} -> ${r.eventName}`).join(", ")}`);
