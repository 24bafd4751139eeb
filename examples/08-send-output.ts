/**
 * Guide: "Sending Output".
 *
 * `sendOutput(outputType, data)` sends execution-specific output (not an event: nothing is
 * connected to it). It goes to the job's output handler, given to `execute()`, and is always
 * appended to the job's `outputLog`, which is serialized with it.
 *
 * Output handler types: QueueOutputHandler (collect, or iterate with `for await`),
 * CallbackOutputHandler (call a function), NullOutputHandler (discard; still in `outputLog`).
 *
 * Run: npx tsx examples/08-send-output.ts
 */
import { CallbackOutputHandler, Flow, JobState, NullOutputHandler, QueueOutputHandler, Routine } from "../src/index.js";

class DataProcessor extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.process);
  }

  process(data: Record<string, unknown>): void {
    // Send output through the current job
    this.sendOutput("user_data", { message: "Processing", value: data.data });
    this.sendOutput("status", { progress: 50, status: "in_progress" });
  }
}

const flow = new Flow({ flowId: "my_flow" });
const entryId = flow.addRoutine(new DataProcessor(), "processor");

// 1. A queue: every sendOutput() of this job is queued.
const queue = new QueueOutputHandler();
const job = flow.execute(entryId, { entryParams: { data: 42 }, outputHandler: queue });
await JobState.waitForCompletion(flow, job);
queue.close();
for await (const output of queue) {
  console.log(`queue: ${output.routineId} ${output.outputType} ${JSON.stringify(output.data)}`);
}

// 2. A callback, e.g. to stream progress to a client.
const callback = new CallbackOutputHandler((routineId, outputType, data) => {
  console.log(`callback: ${routineId} ${outputType} ${JSON.stringify(data)}`);
});
const job2 = flow.execute(entryId, { entryParams: { data: 7 }, outputHandler: callback });
await JobState.waitForCompletion(flow, job2);

// 3. Discarded, but still logged in the JobState.
const job3 = flow.execute(entryId, { entryParams: { data: 0 }, outputHandler: new NullOutputHandler() });
await JobState.waitForCompletion(flow, job3);
console.log(`null handler: outputLog has ${job3.outputLog.length} entries: ${job3.outputLog.map((o) => o.outputType).join(", ")}`);

// The output log is part of the serialized JobState.
const saved = job.serialize().outputLog;
console.log(`serialized outputLog of job 1: ${saved.length} entries, first at ${saved[0]?.timestamp}`);
