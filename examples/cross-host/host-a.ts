/**
 * Host A of the cross-host example: builds the flow, starts a job, pauses it after its first step
 * ("Transfer to Host B"), and writes the flow document and the job document to a directory.
 *
 * Run by examples/16-cross-host.ts: host-a.ts DIR
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CallbackOutputHandler, ErrorHandler, ErrorStrategy, Flow } from "../../src/index.js";
import { Count, Extract, Report } from "./routines.js";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: host-a.ts DIR");

const flow = new Flow({ flowId: "word-report", executionStrategy: "concurrent", maxWorkers: 2 });
const extract = new Extract();
extract.setConfig({ minLength: 4 });
const count = new Count();
count.setConfig({ top: 2 });
count.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 50 }));
flow.addRoutine(extract, "extract");
flow.addRoutine(count, "count");
flow.addRoutine(new Report(), "report");
flow.connect("extract", "words", "count", "input");
flow.connect("count", "counted", "report", "input");

// Execute, and pause as soon as the first step is under way (pause lets it finish).
let started = (): void => {};
const extracting = new Promise<void>((resolve) => (started = resolve));
const jobState = flow.execute("extract", {
  entryParams: { text: "Flows move jobs; jobs carry state. State moves with jobs, flows stay flows." },
  outputHandler: new CallbackOutputHandler(() => started()),
});
await extracting;
await flow.pause(jobState, { reason: "Transfer to Host B" });

const flowData = flow.serialize();
const jobStateData = jobState.serialize();
await writeFile(join(dir, "flow.json"), JSON.stringify(flowData, null, 2));
await writeFile(join(dir, "job.json"), JSON.stringify(jobStateData, null, 2));

console.log(`job ${jobState.jobId} ${jobState.status}: ${jobState.pausePoints.at(-1)?.reason}`);
console.log(`ran here: ${jobState.getSharedLog().map((e) => (e as { routine: string }).routine).join(", ")}`);
console.log(`pending: ${jobState.pendingTasks.map((t) => `${t.routineId}.${t.slotName}`).join(", ")}`);
console.log(`wrote flow.json (${flowData.routines.map((r) => `${r.id}:${r.type}`).join(", ")}) and job.json`);
await flow.shutdown();
