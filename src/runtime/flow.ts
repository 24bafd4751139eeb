import { systemClock, type Clock } from "../core/clock.js";
import { RoutiluxError, showValue } from "../core/errors.js";
import { FlowDefinition, checkTimeout, type FlowDefinitionOptions } from "../core/flow-definition.js";
import type { Payload } from "../core/slot.js";
import type { JobStore } from "../persistence/job-store.js";
import { recoverJobs } from "../persistence/recovery.js";
import { writerFor } from "../persistence/store-writer.js";
import { decodeFlowDocument, encodeFlowDocument, type FlowDocument } from "../serialization/flow-document.js";
import { defaultRegistry, type RoutineRegistry } from "../serialization/registry.js";
import { JobState, kJobData } from "../state/job-state.js";
import type { OutputHandler } from "../state/output-handlers.js";
import { Engine } from "./engine.js";
import { ExecutionTracker } from "./execution-tracker.js";

/** Options of a {@link Flow}. */
export interface FlowOptions extends FlowDefinitionOptions {
  /** Time and timers; inject a `SimulatedClock` in tests. Default: the system clock. */
  clock?: Clock;
  /**
   * Persists every job of the flow as it runs (`SqliteJobStore`, `MemoryJobStore`): after each
   * task, what it changed is committed before the task counts as done, and `recover()` carries on
   * after a crash. Default: none (jobs live in memory only).
   */
  store?: JobStore;
}

/** The options of a flow that its {@link FlowDocument} does not hold (given to `Flow.deserialize`). */
export type FlowRuntimeOptions = Omit<FlowOptions, keyof FlowDefinitionOptions>;

/** Options of one {@link Flow.execute} call. */
export interface ExecuteOptions {
  /** The data passed to the entry routine's `trigger` slot. */
  entryParams?: Record<string, unknown>;
  /** Where this job's `sendOutput` calls go (they are always in `outputLog` too). */
  outputHandler?: OutputHandler;
  /** Custom data about the job, stored in `jobState.metadata`. */
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
  readonly #store: JobStore | undefined;

  constructor(options: FlowOptions = {}) {
    super(options);
    this.#engine = new Engine(this, options.clock ?? systemClock, this.maxWorkers, this.executionTracker);
    const store = options.store;
    if (store !== undefined) {
      if (typeof store !== "object" || store === null || typeof (store as Partial<JobStore>).commit !== "function") {
        throw new RoutiluxError(`Expected \`store\` to be a JobStore (such as a SqliteJobStore or a MemoryJobStore), got ${showValue(store)}`);
      }
      this.#store = store;
      this.#engine.journal = writerFor(store);
    }
  }

  /** The store this flow's jobs are persisted in, if any. */
  get store(): JobStore | undefined {
    return this.#store;
  }

  /** The clock this flow's jobs run on. */
  get clock(): Clock {
    return this.#engine.clock;
  }

  /**
   * Starts a job at the entry routine's `trigger` slot and returns its JobState at once, status
   * "running". No handler runs before this call returns.
   *
   * @param entryRoutineId - the routine whose `trigger` slot gets `entryParams`
   * @returns the new job's JobState; await {@link JobState.waitForCompletion} for its end
   * @throws FlowDefinitionError for an unknown routine id or an entry routine without a `trigger` slot
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
   *
   * @param options - `reason` is recorded in the pause point and history; `checkpoint` is stored in `jobState.checkpoint`
   * @returns a promise that resolves once the job's running handlers have settled
   * @throws JobStateError if the job is not running (pausing a paused job does nothing)
   */
  pause(jobState: JobState, options: { reason?: string; checkpoint?: Record<string, unknown> } = {}): Promise<void> {
    const checkpoint = options.checkpoint === undefined ? undefined : checkPayload(options.checkpoint, "checkpoint");
    return this.#engine.pause(jobState, options.reason ?? "", checkpoint);
  }

  /**
   * Resumes a paused job (also one loaded from a document, here or on another host): emits its
   * deferred events, re-queues its pending tasks and returns the same JobState.
   *
   * @returns `jobState` itself, now "running"
   * @throws JobStateError if the job is neither paused nor running, belongs to another flow, or
   * names routines or slots this flow lacks
   */
  resume(jobState: JobState): JobState {
    return this.#engine.resume(jobState);
  }

  /**
   * Carries on, in this process, every job of this flow that the store holds as "running" and no
   * live process runs: after a crash, on a flow with the same `flowId` and routine ids. Each job
   * is rebuilt at its last committed task and its pending tasks run again, so a task that was in
   * flight at the crash runs twice: its recorded changes (history, outputs, shared data and log)
   * count once, but its effects outside the job (an HTTP call, an email) are at-least-once, so
   * make them idempotent. A job is recovered by one process only: the store leases it, and the
   * lease of a process that died on this host is void at once (elsewhere it expires after the
   * store's `leaseMs`). Paused jobs stay paused: `flow.resume(await store.loadJob(id))`.
   *
   * @returns the recovered jobs, running; await {@link JobState.waitForCompletion} for each
   * @throws RoutiluxError when the flow has no store; StoreError when a job cannot be read (then none is recovered)
   */
  recover(): Promise<JobState[]> {
    const store = this.#store;
    if (store === undefined) {
      return Promise.reject(new RoutiluxError(`Flow '${this.flowId}' has no store to recover from; create it with new Flow({ store })`));
    }
    return recoverJobs(store, this.flowId, (jobs) => this.#engine.adopt(jobs));
  }

  /** Cancels one job: its queue is dropped; running handlers finish but their emits are discarded. */
  cancel(jobState: JobState, options: { reason?: string } = {}): Promise<void> {
    return this.#engine.cancel(jobState, options.reason ?? "");
  }

  /** Stops scheduling, clears timers and waits for running handlers. Jobs keep their state. */
  shutdown(): Promise<void> {
    return this.#engine.shutdown();
  }

  /**
   * Writes the flow's structure (never job state) as a versioned plain-JSON document: routines by
   * their name in `registry` (default {@link defaultRegistry}), else their class name, with their
   * configuration and error handlers; connections with their parameter mappings; strategy,
   * workers, flowId and timeout. A `retryable` predicate, or error classes no registry names,
   * cannot be written: the handler's `retryableOmitted` says so, and after deserialize every
   * error is retryable. Configuration JSON cannot hold throws a SerializationError naming its path.
   */
  serialize(registry: RoutineRegistry = defaultRegistry): FlowDocument {
    return encodeFlowDocument(this, registry);
  }

  /**
   * Builds a new flow from a document written by {@link Flow.serialize}, in this or another
   * process. Each routine's class is found by name in `registry` (default {@link defaultRegistry}),
   * constructed without arguments, then given its configuration and error handler. A malformed
   * document or an unregistered name throws a SerializationError naming the field at fault.
   * @param options - what a document does not hold, such as the clock
   */
  static deserialize(doc: unknown, registry: RoutineRegistry = defaultRegistry, options: FlowRuntimeOptions = {}): Flow {
    return decodeFlowDocument(doc, registry, (definition) => new Flow({ ...options, ...definition }));
  }

  /** See {@link JobState.waitForCompletion}. A wrong job or timeout rejects the promise; it never throws. */
  waitForJob(jobState: JobState, options: { timeoutMs?: number } = {}): Promise<boolean> {
    try {
      return this.#engine.waitFor(jobState, options.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal */
  protected override workersChanged(maxWorkers: number): void {
    this.#engine.maxWorkers = maxWorkers;
  }
}
