/**
 * Guide: "Accessing Execution History".
 *
 * The history is the job's chronological log: the start (with the entry params), every emit,
 * every error, retry, pause, resume and cancel, and the end. The end record is keyed on the
 * flow's id (here `my_flow -> completed`), since it belongs to the job rather than to a routine.
 *
 * Run: npx tsx examples/03-execution-history.ts
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

// All execution records
const allRecords = jobState.executionHistory;
console.log(`Total records: ${allRecords.length}`);

// Records of one routine
const sourceRecords = jobState.getExecutionHistory("source");
console.log(`Source records: ${sourceRecords.length}`);

// Iterate through the records
for (const record of jobState.executionHistory) {
  console.log(`${record.timestamp.toISOString()}: ${record.routineId} -> ${record.eventName}`);
  console.log(`  Data: ${JSON.stringify(record.data)}`);
}
