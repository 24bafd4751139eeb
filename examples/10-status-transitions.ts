/**
 * Guide: "JobState Status" and "Error Detection".
 *
 * Status values: "pending" (created, not started), "running", "completed", "failed", "paused",
 * "cancelled". A job ends by itself when its queue is empty and nothing of it is in flight:
 * "failed" if a routine's state is "failed" (or "error"), otherwise "completed". A tolerated
 * error (CONTINUE: "error_continued") or a skipped routine (SKIP: "skipped") does not fail it.
 *
 * Run: npx tsx examples/10-status-transitions.ts
 */
import { ErrorHandler, ErrorStrategy, Flow, JobState, Routine } from "../src/index.js";

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

class Flaky extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.process);
  }

  process(): void {
    throw new Error("upstream service unavailable");
  }
}

/** source -> worker, where the worker always throws, handled by `handler` (undefined: STOP). */
function flowWith(flowId: string, handler: ErrorHandler | undefined): Flow {
  const flow = new Flow({ flowId });
  flow.addRoutine(new Source(), "source");
  const worker = new Flaky();
  worker.setErrorHandler(handler);
  flow.addRoutine(worker, "worker");
  flow.connect("source", "output", "worker", "input");
  return flow;
}

// pending -> running -> completed
const flow = new Flow({ flowId: "my_flow" });
const sourceId = flow.addRoutine(new Source(), "source");
console.log(`New JobState: ${new JobState("my_flow").status}`);
const jobState = flow.execute(sourceId);
console.log(`Initial status: ${jobState.status}`);
await JobState.waitForCompletion(flow, jobState, { timeoutMs: 5000 });
console.log(`Final status: ${jobState.status}`);

// running -> failed: a routine failed (no error handler: STOP)
const failing = flowWith("stop_flow", undefined);
const failed = failing.execute("source");
const completed = await JobState.waitForCompletion(failing, failed, { timeoutMs: 60_000 });
console.log(`STOP: waited=${completed}, status=${failed.status}`);
if (failed.status === "failed") {
  // Which routine failed?
  for (const [routineId, routineState] of Object.entries(failed.routineStates)) {
    if (routineState.status === "failed") console.log(`Routine ${routineId} failed: ${String(routineState.error)}`);
  }
}

// Tolerated errors: the error is in the history, the job still completes.
for (const strategy of [ErrorStrategy.CONTINUE, ErrorStrategy.SKIP]) {
  const tolerant = flowWith(`${strategy}_flow`, new ErrorHandler({ strategy }));
  const job = tolerant.execute("source");
  await JobState.waitForCompletion(tolerant, job);
  const errors = job.getExecutionHistory("worker").filter((r) => r.eventName === "error").length;
  console.log(`${strategy.toUpperCase()}: status=${job.status}, worker=${String(job.getRoutineState("worker")?.status)}, error records=${errors}`);
}

// running -> paused -> running -> completed, and running -> cancelled
const paused = flow.execute(sourceId);
await flow.pause(paused, { reason: "inspection" });
console.log(`After pause: ${paused.status}`);
flow.resume(paused);
console.log(`After resume: ${paused.status}`);
await JobState.waitForCompletion(flow, paused);
console.log(`After resume and wait: ${paused.status}`);
const cancelled = flow.execute(sourceId);
await flow.cancel(cancelled, { reason: "no longer needed" });
console.log(`After cancel: ${cancelled.status}`);
