/**
 * Guide: "Serialization and Persistence".
 *
 * A paused job is written as a versioned plain-JSON document (`job.serialize()`), saved to a
 * file, loaded back into a new JobState and resumed. Here it is resumed on a new Flow object
 * with the same flowId and routine ids, as a restarted process would. The document holds
 * everything needed to go on: history, routine states, shared data, outputs, the pending tasks.
 * A malformed document is rejected with a SerializationError naming the bad field.
 *
 * Run: npx tsx examples/12-serialization.ts
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CallbackOutputHandler, Flow, JobState, Routine, SerializationError } from "../src/index.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class Fetch extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.fetch);
    this.defineEvent("fetched", ["rows"]);
  }

  async fetch(data: Record<string, unknown>): Promise<void> {
    this.sendOutput("status", { downloading: true });
    await sleep(20); // a slow download
    this.emit("fetched", { rows: [1, 2, 3].map((n) => n * Number(data.scale)) });
  }
}

class Sum extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.sum);
  }

  sum(data: Record<string, unknown>): void {
    const total = (data.rows as number[]).reduce((a, b) => a + b, 0);
    this.getExecutionContext()?.jobState.updateSharedData("total", total);
    this.sendOutput("result", { total });
  }
}

/** The flow definition; both "processes" build the same one. */
function buildFlow(): Flow {
  const flow = new Flow({ flowId: "etl" });
  flow.addRoutine(new Fetch(), "fetch");
  flow.addRoutine(new Sum(), "sum");
  flow.connect("fetch", "fetched", "sum", "input");
  return flow;
}

const dir = await mkdtemp(join(tmpdir(), "routilux-example-"));
const path = join(dir, "job_state.json");
try {
  // Execute, and pause once the download has begun (pause waits for the running fetch to finish).
  const flow = buildFlow();
  let downloading = (): void => {};
  const started = new Promise<void>((resolve) => (downloading = resolve));
  const jobState = flow.execute("fetch", { entryParams: { scale: 10 }, outputHandler: new CallbackOutputHandler(() => downloading()) });
  await started;
  await flow.pause(jobState, { reason: "Save for later" });
  console.log(`Paused: ${jobState.status}, pending: ${jobState.pendingTasks.map((t) => `${t.routineId}.${t.slotName}`).join(", ")}`);

  // Serialize and save to a file
  const jobStateData = jobState.serialize();
  await writeFile(path, JSON.stringify(jobStateData, null, 2));
  console.log(`Saved document version ${jobStateData.version} (${jobStateData.executionHistory.length} history records) to ${path}`);
  await flow.shutdown(); // the first "process" ends here

  // Later: load and deserialize
  const loadedData: unknown = JSON.parse(await readFile(path, "utf8"));
  const newJobState = new JobState();
  newJobState.deserialize(loadedData);
  console.log(`Loaded: job ${newJobState.jobId === jobState.jobId ? "with the same id" : "with ANOTHER id"}, status ${newJobState.status}`);

  // Resume on a new Flow with the same definition
  const newFlow = buildFlow();
  const resumed = newFlow.resume(newJobState);
  await JobState.waitForCompletion(newFlow, resumed);
  console.log(`Resumed: ${resumed.status}, total=${String(resumed.getSharedData("total"))}`);
  console.log(`History: ${resumed.executionHistory.map((r) => `${r.routineId} -> ${r.eventName}`).join(", ")}`);

  // The same in two calls: save() writes atomically, load() validates.
  await resumed.save(path);
  const reloaded = await JobState.load(path);
  console.log(`save()/load() round trip: ${reloaded.status}, outputs: ${reloaded.outputLog.map((o) => o.outputType).join(", ")}`);

  // A malformed document changes nothing and names the field at fault.
  try {
    reloaded.deserialize({ ...jobStateData, status: "sleeping" });
  } catch (error) {
    if (!(error instanceof SerializationError)) throw error;
    console.log(`Rejected: ${error.name} at '${error.path}'; job still ${reloaded.status}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
