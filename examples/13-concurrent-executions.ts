/**
 * Guide: "Thread Safety and Concurrent Execution": the thread-pool scenarios, as concurrent jobs.
 *
 * Node has no thread pool here: handlers run on the event loop and interleave at their `await`s.
 * What the guide's ThreadPoolExecutor does, a Flow's worker pool does: one pool per Flow,
 * shared by all its jobs, running at most `maxWorkers` handlers at once across all of them, jobs
 * served round robin. Each task carries its job; the handler finds it through AsyncLocalStorage
 * (`this.getExecutionContext()`, the guide's context variable), so jobs never see each other.
 *
 * Run: npx tsx examples/13-concurrent-executions.ts
 */
import assert from "node:assert/strict";
import { Flow, JobState, Routine, type ExecutionContext } from "../src/index.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts the handlers running at once, across every job of the flow. */
const load = { now: 0, peak: 0 };

class Worker extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.process);
  }

  async process(data: Record<string, unknown>, ctx: ExecutionContext): Promise<void> {
    load.now++;
    load.peak = Math.max(load.peak, load.now);
    await sleep(20); // I/O: other handlers run meanwhile
    load.now--;
    // After the await the context is still this job's.
    ctx.jobState.updateSharedData("task", data.task);
    ctx.jobState.recordExecution(ctx.routineId, "process", { task: data.task, job: ctx.jobState.jobId });
  }
}

// One pool per flow: 5 workers, reused by every execution.
const flow = new Flow({ flowId: "my_flow", executionStrategy: "concurrent", maxWorkers: 5 });
const entryId = flow.addRoutine(new Worker(), "worker");

// Scenario 1: executions one after the other.
const jobState1 = flow.execute(entryId, { entryParams: { task: "A" } });
await JobState.waitForCompletion(flow, jobState1, { timeoutMs: 2000 });
const jobState2 = flow.execute(entryId, { entryParams: { task: "B" } });
await JobState.waitForCompletion(flow, jobState2, { timeoutMs: 2000 });
assert.notEqual(jobState1.jobId, jobState2.jobId);
console.log(`Scenario 1: ${jobState1.getSharedData<string>("task")} ${jobState1.status}, ${jobState2.getSharedData<string>("task")} ${jobState2.status}`);

// Scenario 2: five executions at once (the guide's five threads), sharing the pool.
async function runExecution(taskName: string): Promise<JobState> {
  const jobState = flow.execute(entryId, { entryParams: { task: taskName } });
  await JobState.waitForCompletion(flow, jobState, { timeoutMs: 3000 });
  return jobState;
}
load.peak = 0;
const jobStates = await Promise.all([0, 1, 2, 3, 4].map((i) => runExecution(`Task${i}`)));
const jobIds = new Set(jobStates.map((js) => js.jobId));
assert.equal(jobIds.size, 5);
console.log(`Scenario 2: ${jobIds.size} unique jobs, peak concurrent handlers ${load.peak}`);
for (const js of jobStates) {
  const record = js.getExecutionHistory("worker").find((r) => r.eventName === "process");
  assert.equal(record?.data.job, js.jobId); // each handler saw its own job
  console.log(`  ${String(js.getSharedData("task"))}: ${js.status}, recorded in its own job: ${record?.data.job === js.jobId}`);
}

// Limit total load across all executions: 10 jobs, only 3 handlers at once.
flow.setExecutionStrategy("concurrent", 3);
load.peak = 0;
const executions = new Map<number, JobState>();
for (let i = 0; i < 10; i++) executions.set(i, flow.execute(entryId, { entryParams: { task: `batch-${i}` } }));
await Promise.all([...executions.values()].map((js) => JobState.waitForCompletion(flow, js, { timeoutMs: 5000 })));
console.log(`maxWorkers=3: peak concurrent handlers ${load.peak} across ${executions.size} jobs`);
for (const [taskId, js] of executions) if (taskId % 3 === 0) console.log(`  Task ${taskId}: ${js.status}`);
const statuses = new Set([...executions.values()].map((js) => js.status));
console.log(`  All tasks: ${[...statuses].join(", ")}`);
console.log(`Jobs by status: ${JSON.stringify(flow.executionTracker.getFlowPerformance().jobs)}`);
