import type { Clock } from "../core/clock.js";
import { RoutiluxError, showValue } from "../core/errors.js";
import type { FlowDefinitionOptions } from "../core/flow-definition.js";
import { checkJsonValue, isJsonValue } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import type { JobStore } from "../persistence/job-store.js";
import type { OutputHandler } from "../state/output-handlers.js";

/** Options of a {@link Flow}. */
export interface FlowOptions extends FlowDefinitionOptions {
  /** Time and timers; inject a `SimulatedClock` in tests. Default: the system clock. */
  clock?: Clock;
  /**
   * Persists every job of the flow as it runs (`SqliteJobStore`, `MemoryJobStore`): a job is in
   * the store before any of its handlers runs, and after each task what it changed is committed
   * before the task counts as done, so `recover()` carries on after a crash. Default: none.
   */
  store?: JobStore;
  /**
   * Where the flow's jobs run: `"here"` (default), in this process; or `"workers"`, on the
   * {@link Worker}s of the store (needs a `store`). With `"workers"`, `start()` resolves once the job
   * is in the store, unowned, for a worker to claim; `job.result()` follows it in the store; a
   * resume or an answer by id that no process takes is applied to the stored job and handed back
   * to the workers the same way. No handler of the flow runs in this process.
   */
  runJobs?: "here" | "workers";
}

/** The options of a flow that its {@link FlowDocument} does not hold (given to `Flow.deserialize`). */
export type FlowRuntimeOptions = Omit<FlowOptions, keyof FlowDefinitionOptions>;

/** Options of one {@link Flow.execute} call. */
export interface ExecuteOptions {
  /** The data passed to the entry routine's `trigger` slot (plain JSON; checked against its schema, if any). */
  entryParams?: Record<string, unknown>;
  /** Where this job's `sendOutput` calls go (they are always in `outputLog` too). */
  outputHandler?: OutputHandler;
  /** Custom data about the job (plain JSON), stored in `jobState.metadata`; stores can filter jobs by it. */
  metadata?: Record<string, unknown>;
  /** Fails the job if it runs longer; overrides the flow's `executionTimeoutMs`. */
  timeoutMs?: number;
}

/** A plain JSON object option (`{}` when omitted), or a RoutiluxError naming it. @internal */
export function checkPayload(value: unknown, name: string): Payload {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RoutiluxError(`Expected \`${name}\` to be a plain object, got ${Array.isArray(value) ? "an array" : showValue(value)}`);
  }
  if (!isJsonValue(value)) checkJsonValue(value, `\`${name}\``, name);
  return value as Payload;
}

/** Entry params as the trigger slot's schema gave them (its defaults and transforms applied): still a plain JSON object. @internal */
export function parsedParams(value: unknown, entryRoutineId: string): Payload {
  return checkPayload(value, `entryParams, as the schema of '${entryRoutineId}.trigger' gave them,`);
}

/** The `store` option: a JobStore, or a RoutiluxError saying what it got. @internal */
export function checkStore(store: unknown): JobStore {
  if (typeof store !== "object" || store === null || typeof (store as Partial<JobStore>).commit !== "function") {
    throw new RoutiluxError(`Expected \`store\` to be a JobStore (such as a SqliteJobStore or a MemoryJobStore), got ${showValue(store)}`);
  }
  return store as JobStore;
}

/** The `runJobs` option of flow `flowId` (default "here"); "workers" needs a store. @internal */
export function checkRunJobs(option: unknown, store: JobStore | undefined, flowId: string): "here" | "workers" {
  const runJobs = option ?? "here";
  if (runJobs !== "here" && runJobs !== "workers") {
    throw new RoutiluxError(`Expected \`runJobs\` to be "here" or "workers", got ${showValue(runJobs)}`);
  }
  if (runJobs === "workers" && store === undefined) {
    throw new RoutiluxError(`Flow '${flowId}' has runJobs: "workers" but no store; workers find jobs in a store: pass \`store\``);
  }
  return runJobs;
}
