/**
 * Guide: "Best Practices" (and "Thread Safety Best Practices").
 *
 * 1. Store the JobState for recovery: its document is plain JSON.
 * 2. Monitor by waiting, not polling: `await JobState.waitForCompletion(flow, job, { timeoutMs })`
 *    resolves when the job rests; progress streams through an output handler.
 * 3. Manage executions independently: each has its own JobState to pause, resume or cancel.
 * 4. Keep the JobState of every execution; the flow does not hold "the" job.
 * (Cross-host execution: see examples/12-serialization.ts and examples/16-cross-host.ts.)
 *
 * Run: npx tsx examples/15-best-practices.ts
 */
import assert from "node:assert/strict";
import { Flow, JobState, QueueOutputHandler, Routine, type HandlerContext, type JobStateDocument } from "../src/index.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets a batch through, or holds it for a person's approval (every fourth batch). */
class Gate extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.check);
    this.defineSlot("approval", this.approve);
    this.defineEvent("approved", ["batch", "stepMs", "approvedBy"]);
  }

  check(data: Record<string, unknown>, ctx: HandlerContext): void {
    if (Number(data.batch) % 4 !== 0) {
      this.emit("approved", data);
      return;
    }
    ctx.shared.set("held", data);
    // The job pauses once this handler returns, until someone answers on the "approval" slot.
    ctx.waitForInput({ slot: "approval", prompt: `batch ${String(data.batch)} needs approval` });
  }

  approve(data: Record<string, unknown>, ctx: HandlerContext): void {
    const held = ctx.shared.get<Record<string, unknown>>("held") ?? {};
    this.emit("approved", { ...held, approvedBy: data.by });
  }
}

/** Processes a batch in steps, reporting progress. */
class Batch extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.run);
  }

  async run(data: Record<string, unknown>): Promise<void> {
    for (const percent of [25, 50, 75, 100]) {
      await sleep(Number(data.stepMs ?? 2));
      this.sendOutput("progress", { batch: data.batch, percent });
    }
  }
}

const flow = new Flow({ flowId: "batches", executionStrategy: "concurrent", maxWorkers: 4 });
const entryId = flow.addRoutine(new Gate(), "gate");
flow.addRoutine(new Batch(), "batch");
flow.connect("gate", "approved", "batch", "input");

// 1. Store the JobState for recovery.
const database = new Map<string, JobStateDocument>();
function saveToDatabase(doc: JobStateDocument): void {
  database.set(doc.jobId, JSON.parse(JSON.stringify(doc)) as JobStateDocument);
}
const stored = flow.execute(entryId, { entryParams: { batch: 1 } });
saveToDatabase(stored.serialize());
console.log(`1. Stored job ${stored.jobId.slice(0, 8)} as ${database.get(stored.jobId)?.status}`);
await JobState.waitForCompletion(flow, stored);

// 2. Monitor status by waiting, not polling.
const progress = new QueueOutputHandler();
const watched = flow.execute(entryId, { entryParams: { batch: 2, stepMs: 5 }, outputHandler: progress });
void JobState.waitForCompletion(flow, watched).then(() => progress.close());
for await (const output of progress) {
  console.log(`2. progress: batch ${String(output.data.batch)} at ${String(output.data.percent)}%`);
}
if (watched.status === "completed") console.log("2. Execution successful!");
else if (watched.status === "failed") console.log("2. Execution failed!");

// A timeout bounds the wait, not the job: `false` means it is still running.
const slow = flow.execute(entryId, { entryParams: { batch: 3, stepMs: 30 } });
const rested = await JobState.waitForCompletion(flow, slow, { timeoutMs: 10 });
console.log(`2. Waited 10 ms: rested=${rested}, status=${slow.status}`);
await JobState.waitForCompletion(flow, slow);
console.log(`2. Waited to the end: ${slow.status}`);

// 3. and 4. Keep every JobState and manage each one independently.
const executions: JobState[] = [];
for (let i = 0; i < 10; i++) executions.push(flow.execute(entryId, { entryParams: { batch: i } }));
await Promise.all(executions.map((job) => JobState.waitForCompletion(flow, job)));
const paused = executions.filter((job) => job.status === "paused");
console.log(`3. ${executions.length} executions: ${paused.length} paused (${paused.map((j) => j.waitingFor[0]?.prompt).join("; ")})`);

// The person approves: an answer is delivered to the waiting slot and the job runs on.
await Promise.all(paused.map((job) => flow.answer(job, "gate", "approval", { by: "ops" })));
await Promise.all(executions.map((job) => JobState.waitForCompletion(flow, job)));
const steps = executions.map((job) => job.outputLog.length);
console.log(`3. After approval: ${[...new Set(executions.map((job) => job.status))].join(", ")}, progress outputs per job: ${steps.join(" ")}`);

// Pitfall: every execute() creates a new JobState; keep the one you mean.
const first = flow.execute(entryId, { entryParams: { batch: 5 } });
const second = flow.execute(entryId, { entryParams: { batch: 5 } });
assert.notEqual(first, second);
assert.notEqual(first.jobId, second.jobId);
await flow.cancel(second, { reason: "only the first one is needed" });
await JobState.waitForCompletion(flow, first);
console.log(`4. Two executions, two JobStates: first ${first.status}, second ${second.status}`);
