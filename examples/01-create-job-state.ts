/**
 * Guide: "Creating JobState".
 *
 * A JobState is created by `flow.execute()`. It is returned at once (status "running"; no
 * handler has run yet) and the caller owns it: the flow keeps no reference to "the" job.
 *
 * Run: npx tsx examples/01-create-job-state.ts
 */
import { Flow, JobState, Routine } from "../src/index.js";

class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.send);
    this.defineEvent("output", ["data"]);
  }

  send(): void {
    this.emit("output", { data: "test" });
  }
}

const flow = new Flow({ flowId: "my_flow" });
const source = new Source();
const sourceId = flow.addRoutine(source, "source");

// execute() returns a JobState without waiting: the job runs in the background.
const jobState = flow.execute(sourceId);
console.log(`Status on return: ${jobState.status}`);

await JobState.waitForCompletion(flow, jobState);

console.log(`Job ID: ${jobState.jobId}`);
console.log(`Status: ${jobState.status}`);
console.log(`Flow ID: ${jobState.flowId}`);
