/**
 * Guide: "Scenario 3: Same Worker Thread Executing Tasks from Different Executions".
 *
 * Two sources and two processors in one flow with a single worker (`maxWorkers: 1`): every
 * handler of every job runs on that one worker. Each job's history holds only its own records.
 * The guide runs the two jobs one after the other; here they also run at the same time, their
 * tasks taking turns on the one worker (jobs are served round robin), and stay just as isolated.
 *
 * Run: npx tsx examples/14-isolation.ts
 */
import assert from "node:assert/strict";
import { Flow, JobState, Routine } from "../src/index.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The order in which the worker ran handlers, as `routineId(job)`. */
const workerLog: string[] = [];
const jobNames = new Map<string, string>();
function logRun(routineId: string, jobId: string): void {
  workerLog.push(`${routineId}(${jobNames.get(jobId) ?? "?"})`);
}

class Source extends Routine {
  readonly name: string;

  constructor(name: string) {
    super();
    this.name = name;
    this.defineSlot("trigger", this.send);
    this.defineEvent("output", ["data"]);
  }

  async send(): Promise<void> {
    // The current job, found through the async context (the guide's context variable).
    const ctx = this.getExecutionContext();
    if (ctx !== undefined) logRun(ctx.routineId, ctx.jobState.jobId);
    ctx?.jobState.recordExecution(ctx.routineId, "sending", { data: `from ${this.name}`, job: ctx.jobState.jobId.slice(0, 8) });
    await sleep(10); // simulate work
    this.emit("output", { data: `from ${this.name}` });
  }
}

class Processor extends Routine {
  readonly name: string;

  constructor(name: string) {
    super();
    this.name = name;
    this.defineSlot("input", this.process);
  }

  process(data: Record<string, unknown>): void {
    const ctx = this.getExecutionContext();
    if (ctx !== undefined) logRun(ctx.routineId, ctx.jobState.jobId);
    ctx?.jobState.recordExecution(ctx.routineId, "input", { data: data.data, job: ctx.jobState.jobId.slice(0, 8) });
  }
}

const flow = new Flow({ flowId: "isolation_test", executionStrategy: "concurrent", maxWorkers: 1 });
const s1Id = flow.addRoutine(new Source("Source1"), "s1");
const s2Id = flow.addRoutine(new Source("Source2"), "s2");
const p1Id = flow.addRoutine(new Processor("Processor1"), "p1");
const p2Id = flow.addRoutine(new Processor("Processor2"), "p2");
flow.connect(s1Id, "output", p1Id, "input");
flow.connect(s2Id, "output", p2Id, "input");

const routinesOf = (job: JobState): string => `{${[...new Set(job.executionHistory.map((r) => r.routineId))].join(", ")}}`;

function check(job1: JobState, job2: JobState): void {
  const js1 = new Set(job1.executionHistory.map((r) => r.routineId));
  const js2 = new Set(job2.executionHistory.map((r) => r.routineId));
  // No cross-contamination
  assert.ok(js1.has("s1") && js1.has("p1") && !js1.has("s2") && !js1.has("p2"));
  assert.ok(js2.has("s2") && js2.has("p2") && !js2.has("s1") && !js2.has("p1"));
  for (const job of [job1, job2]) {
    const own = job.jobId.slice(0, 8);
    assert.ok(job.executionHistory.every((r) => r.data.job === undefined || r.data.job === own));
  }
}

// As in the guide: one after the other, on the same (single) worker.
const jobState1 = flow.execute(s1Id);
await JobState.waitForCompletion(flow, jobState1, { timeoutMs: 2000 });
const jobState2 = flow.execute(s2Id);
await JobState.waitForCompletion(flow, jobState2, { timeoutMs: 2000 });
check(jobState1, jobState2);
console.log(`JobState 1 routines: ${routinesOf(jobState1)}`);
console.log(`JobState 2 routines: ${routinesOf(jobState2)}`);

// At the same time: the two jobs interleave on the one worker.
workerLog.length = 0;
const concurrent1 = flow.execute(s1Id);
const concurrent2 = flow.execute(s2Id);
jobNames.set(concurrent1.jobId, "job 1").set(concurrent2.jobId, "job 2");
await Promise.all([JobState.waitForCompletion(flow, concurrent1), JobState.waitForCompletion(flow, concurrent2)]);
check(concurrent1, concurrent2);
console.log(`Concurrent JobState 1 routines: ${routinesOf(concurrent1)}`);
console.log(`Concurrent JobState 2 routines: ${routinesOf(concurrent2)}`);
console.log(`The worker ran: ${workerLog.join(", ")}`);
for (const record of concurrent1.executionHistory) {
  console.log(`  job 1: ${record.routineId} -> ${record.eventName} ${JSON.stringify(record.data)}`);
}
