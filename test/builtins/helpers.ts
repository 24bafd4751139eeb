// Helpers for the built-in routines' tests: run one built-in as a flow of its own, read what it
// emitted, and keep track of flows and stores to close.
import { Flow, type JobState, type FlowOptions, type JobStore, type Payload, type Routine } from "../../src/index.js";

const flows: Flow[] = [];
const stores: JobStore[] = [];

/** Closes the flows and stores made through {@link track} and {@link trackStore}; call it in `afterEach`. */
export async function closeAll(): Promise<void> {
  await Promise.allSettled(flows.splice(0).map((f) => f.shutdown()));
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
}

/** Registers a flow to be shut down after the test. */
export function track(flow: Flow): Flow {
  flows.push(flow);
  return flow;
}

/** Registers a store to be closed after the test. */
export function trackStore<S extends JobStore>(store: S): S {
  stores.push(store);
  return store;
}

/** A flow holding `routine` under the id `id` (default "r"). */
export function flowWith(routine: Routine, options: FlowOptions = {}, id = "r"): Flow {
  const flow = track(new Flow({ flowId: "builtin", ...options }));
  flow.addRoutine(routine, id);
  return flow;
}

/** Runs one job of `routine` from its `trigger` slot with `entryParams`, to its rest. */
export async function runOnce(routine: Routine, entryParams: Payload, options: FlowOptions = {}): Promise<JobState> {
  const flow = flowWith(routine, options);
  const job = flow.execute("r", { entryParams });
  await job.result();
  return job;
}

/** The data of every emit of `routineId` in the job's history (of `eventName` only, if given), in order. */
export function emitted(job: JobState, routineId = "r", eventName?: string): Payload[] {
  const control = new Set(["start", "error", "waiting", "answer_kept", "paused", "resumed", "skipped", "retry", "timeout"]);
  return job.executionHistory
    .filter((r) => r.routineId === routineId && (eventName === undefined ? !control.has(r.eventName) : r.eventName === eventName))
    .map((r) => r.data);
}

/** `eventName` of every emit of `routineId`, in order. */
export function emittedEvents(job: JobState, routineId = "r"): string[] {
  const known = new Set(["start", "error", "waiting", "answer_kept", "paused", "resumed", "skipped", "retry", "timeout"]);
  return job.executionHistory.filter((r) => r.routineId === routineId && !known.has(r.eventName)).map((r) => r.eventName);
}

/** The error records of the job, as `{ routineId, message }`. */
export function errorsOf(job: JobState): Array<{ routineId: string; message: string }> {
  return job.executionHistory.filter((r) => r.eventName === "error").map((r) => ({ routineId: r.routineId, message: String(r.data.error) }));
}
