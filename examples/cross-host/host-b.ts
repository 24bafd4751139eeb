/**
 * Host B of the cross-host example: a process that never saw the flow object. It registers the
 * routine classes, rebuilds the flow from its document, loads the job and resumes it.
 *
 * Run by examples/16-cross-host.ts: host-b.ts DIR
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Flow, JobState, QueueOutputHandler, defaultRegistry } from "../../src/index.js";
import { Count, Extract, Report } from "./routines.js";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: host-b.ts DIR");

// The classes a flow document may name, registered under the names host A wrote (class names).
defaultRegistry.register("Extract", Extract);
defaultRegistry.register("Count", Count);
defaultRegistry.register("Report", Report);

const flowData: unknown = JSON.parse(await readFile(join(dir, "flow.json"), "utf8"));
const flow = Flow.deserialize(flowData);
const jobState = JobState.fromDocument(JSON.parse(await readFile(join(dir, "job.json"), "utf8")));
console.log(`rebuilt flow ${flow.flowId}: ${[...flow.routines.keys()].join(", ")}; error strategy of count: ${flow.getRoutine("count")?.getErrorHandler()?.strategy}`);
console.log(`loaded job ${jobState.jobId} ${jobState.status}, config came along: top=${String(flow.getRoutine("count")?.getConfig("top"))}`);

// Output handlers are not part of a document: set one on the loaded job.
const outputs = new QueueOutputHandler();
jobState.setOutputHandler(outputs);
const resumed = flow.resume(jobState);
await JobState.waitForCompletion(flow, resumed, { timeoutMs: 5000 });

console.log(`job ${resumed.jobId} ${resumed.status}`);
console.log(`top words: ${(resumed.getSharedData<string[]>("top") ?? []).join(", ")}`);
const log = resumed.getSharedLog() as Array<{ routine: string; host: string }>;
console.log(`shared log: ${log.map((e) => `${e.routine}@${e.host}`).join(", ")}`);
console.log(`outputs here: ${outputs.items.map((o) => o.outputType).join(", ")}`);
