import { systemClock, type Clock } from "../core/clock.js";
import { RoutiluxError, showValue } from "../core/errors.js";
import { FlowDefinition, checkTimeout, type FlowDefinitionOptions } from "../core/flow-definition.js";
import type { Payload } from "../core/slot.js";
import { JobState, kJobData } from "../state/job-state.js";
import type { OutputHandler } from "../state/output-handlers.js";
import { Engine } from "./engine.js";
import { ExecutionTracker } from "./execution-tracker.js";

/** Options of a {@link Flow}. */
export interface FlowOptions extends FlowDefinitionOptions {
  /** Time and timers; inject a `SimulatedClock` in tests. Default: the system clock. */
  clock?: Clock;
}

/** Options of one {@link Flow.execute} call. */
export interface ExecuteOptions {
  /** The data passed to the entry routine's `trigger` slot. */
  entryParams?: Record<string, unknown>;
  /** Where this job's `sendOutput` calls go (they are always in `outputLog` too). */
  outputHandler?: OutputHandler;
  metadata?: Record<string, unknown>;
  /** Fails the job if it runs longer; overrides the flow's `executionTimeoutMs`. */
  timeoutMs?: number;
}

function checkPayload(value: unknown, name: string): Payload {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RoutiluxError(`Expected \`${name}\` to be a plain object, got ${Array.isArray(value) ? "an array" : showValue(value)}`);
  }
  return value as Payload;
}

/**
 * A workflow: routines wired event-to-slot, and the engine that runs its jobs. Every
 * `execute()` starts an independent job with its own {@link JobState}; all jobs share one
 * worker pool of `maxWorkers` and are served fairly.
 *
 * @example
 * ```ts
 * const flow = new Flow({ flowId: "greet" });
 * flow.addRoutine(new Greeter(), "greeter");
 * flow.addRoutine(new Printer(), "printer");
 * flow.connect("greeter", "greeted", "printer", "input");
 * const job = flow.execute("greeter", { entryParams: { name: "Ada" } });
 * await JobState.waitForCompletion(flow, job);
 * ```
 */
export class Flow extends FlowDefinition {
  /** Activations and durations per routine, and job counts, over all jobs of this flow. */
  readonly executionTracker = new ExecutionTracker();
  readonly #engine: Engine;

  constructor(options: FlowOptions = {}) {
    super(options);
    this.#engine = new Engine(this, options.clock ?? systemClock, this.maxWorkers, this.executionTracker);
  }

  /** The clock this flow's jobs run on. */
  get clock(): Clock {
    return this.#engine.clock;
  }

  /**
   * Starts a job at the entry routine's `trigger` slot and returns its JobState at once, status
   * "running". No handler runs before this call returns.
   */
  execute(entryRoutineId: string, options: ExecuteOptions = {}): JobState {
    const entryParams = checkPayload(options.entryParams, "entryParams");
    const metadata = checkPayload(options.metadata, "metadata");
    const timeoutMs = checkTimeout(options.timeoutMs, "timeoutMs") ?? this.executionTimeoutMs;
    const job = new JobState(this.flowId);
    job.metadata = { ...metadata };
    if (options.outputHandler !== undefined) job.setOutputHandler(options.outputHandler);
    job[kJobData].timeoutMs = timeoutMs;
    return this.#engine.execute(entryRoutineId, entryParams, job);
  }

  /**
   * Pauses one job: it is no longer scheduled, its in-flight handlers settle, and its queued
   * tasks stay in its JobState (`pendingTasks`). Called from one of the job's own handlers it
   * does not wait for that handler. Other jobs of the flow are untouched.
   */
  pause(jobState: JobState, options: { reason?: string; checkpoint?: Record<string, unknown> } = {}): Promise<void> {
    const checkpoint = options.checkpoint === undefined ? undefined : checkPayload(options.checkpoint, "checkpoint");
    return this.#engine.pause(jobState, options.reason ?? "", checkpoint);
  }

  /**
   * Resumes a paused job (also one loaded from a document, here or on another host): emits its
   * deferred events, re-queues its pending tasks and returns the same JobState.
   */
  resume(jobState: JobState): JobState {
    return this.#engine.resume(jobState);
  }

  /** Cancels one job: its queue is dropped; running handlers finish but their emits are discarded. */
  cancel(jobState: JobState, options: { reason?: string } = {}): Promise<void> {
    return this.#engine.cancel(jobState, options.reason ?? "");
  }

  /** Stops scheduling, clears timers and waits for running handlers. Jobs keep their state. */
  shutdown(): Promise<void> {
    return this.#engine.shutdown();
  }

  /** See {@link JobState.waitForCompletion}. */
  waitForJob(jobState: JobState, options: { timeoutMs?: number } = {}): Promise<boolean> {
    return this.#engine.waitFor(jobState, options.timeoutMs);
  }

  /** @internal */
  protected override workersChanged(maxWorkers: number): void {
    this.#engine.maxWorkers = maxWorkers;
  }
}
