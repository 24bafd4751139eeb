/**
 * Guide: "Accessing Routine States".
 *
 * Every routine that ran in a job has a state there: a `status` ("running", "completed",
 * "failed", "error_continued" or "skipped") plus whatever handlers or error handlers add.
 * `getRoutineState` returns a copy; `updateRoutineState` replaces the state.
 *
 * Run: npx tsx examples/04-routine-states.ts
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
const sourceId = flow.addRoutine(new Source(), "source");

const jobState = flow.execute(sourceId);
await JobState.waitForCompletion(flow, jobState);

// The state of one routine
const sourceState = jobState.getRoutineState("source");
if (sourceState !== undefined) {
  console.log(`Source status: ${String(sourceState.status)}`);
  console.log(`Source metadata: ${JSON.stringify(sourceState)}`);
}

// Replace the routine's state (typically done by error handlers or by the routine itself)
jobState.updateRoutineState("source", {
  status: "completed",
  executionTimeMs: 500,
  customField: "value",
});

const updatedState = jobState.getRoutineState("source");
console.log(`Updated state: ${JSON.stringify(updatedState)}`);

// A routine that never ran in this job has no state.
console.log(`State of a routine that never ran: ${jobState.getRoutineState("nobody") === undefined ? "undefined" : "defined"}`);
