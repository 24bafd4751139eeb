import { systemClock, type Clock } from "../core/clock.js";
import { FlowDefinition, checkTimeout } from "../core/flow-definition.js";
import type { Payload } from "../core/slot.js";
import { registerBuiltins } from "../builtins/index.js";
import type { JobStore } from "../persistence/job-store.js";
import { writerFor } from "../persistence/store-writer.js";
import { Engine } from "../runtime/engine.js";
import type { FlowEvent, FlowEventFilter } from "../runtime/events.js";
import { ExecutionTracker } from "../runtime/execution-tracker.js";
import { checkStandard, checkStandardIfSync } from "../runtime/validation.js";
import { decodeFlowDocument, encodeFlowDocument, type FlowDocument } from "../serialization/flow-document.js";
import { defaultRegistry, type RoutineRegistry } from "../serialization/registry.js";
import { readFlowFile, type FlowFileFormat } from "../serialization/flow-file.js";
import { buildFromSpec, documentToSpec, registryWithDefaults } from "../serialization/flow-spec-document.js";
import type { FlowSpec } from "../serialization/flow-spec.js";
import { kJobData } from "../state/job-data.js";
// A JobState is the engine's JobStateCore; only `status` reads wider on it (see LiveJobStatus).
import type { JobStateCore } from "../state/job-state.js";
import { checkPayload, checkRunJobs, checkStore, parsedParams, type ExecuteOptions, type FlowOptions, type FlowRuntimeOptions } from "./flow-options.js";
import { controlById, recoverHere, workerHost } from "./flow-store.js";
import { JobState, type JobResult } from "./job-state.js";
import { followInStore } from "./remote-result.js";
import { kWorkerHost, type WorkerHost } from "./worker-host.js";

// The built-in routines are in defaultRegistry whenever the package is loaded, so flow files and
// flow documents can name them. (package.json lists this module under "sideEffects".)
registerBuiltins(defaultRegistry);

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
 * const result = await flow.run("greeter", { entryParams: { name: "Ada" } });
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
    const store = options.store === undefined ? undefined : checkStore(options.store);
    if (store !== undefined) {
      this.#store = store;
      this.#engine.journal = writerFor(store);
    }
    if (checkRunJobs(options.runJobs, store, this.flowId) === "workers") this.#engine.handsOff = true;
  }

  /** Where this flow's jobs run: in this process, or on the workers of its store. */
  get runJobs(): "here" | "workers" {
    return this.#engine.handsOff ? "workers" : "here";
  }

  /** @internal What a Worker drives. */
  [kWorkerHost](): WorkerHost {
    return workerHost(this.#engine, this.#store);
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
   * "running". No handler runs before this call returns; with a store, none runs before the job
   * is stored (await {@link Flow.start} to know when).
   *
   * @param entryRoutineId - the routine whose `trigger` slot gets `entryParams`
   * @returns the new job's JobState; await `job.result()` for its outcome
   * @throws FlowDefinitionError for an unknown routine id or an entry routine without a `trigger`
   * slot; ValidationError when `entryParams` does not fit the trigger slot's schema
   */
  execute(entryRoutineId: string, options: ExecuteOptions = {}): JobState {
    const { job, entryParams } = this.#prepare(entryRoutineId, options);
    const schema = this.getRoutine(entryRoutineId)?.getSlot("trigger")?.schema;
    const params = schema === undefined ? entryParams : parsedParams(checkStandard(schema, entryParams, `the entry params of '${entryRoutineId}.trigger'`, true), entryRoutineId);
    this.#engine.execute(entryRoutineId, params, job as JobStateCore);
    this.#follow(job);
    return job;
  }

  /** A job handed to workers is followed in the store by `result()`. */
  #follow(job: JobState): void {
    if (this.#engine.handsOff && this.#store !== undefined) followInStore(job, this.#store);
  }

  /**
   * Starts a job like {@link Flow.execute} and resolves once it is running: with a store, once it
   * is in the store (a process killed after this resolves leaves the job to `recover()`).
   * @throws (rejects) as execute throws, and with the StoreError when the store refuses the job
   */
  async start(entryRoutineId: string, options: ExecuteOptions = {}): Promise<JobState> {
    const { job, entryParams } = this.#prepare(entryRoutineId, options);
    const schema = this.getRoutine(entryRoutineId)?.getSlot("trigger")?.schema;
    const params = schema === undefined ? entryParams : parsedParams(await checkStandard(schema, entryParams, `the entry params of '${entryRoutineId}.trigger'`), entryRoutineId);
    this.#engine.execute(entryRoutineId, params, job as JobStateCore);
    this.#follow(job);
    await this.#engine.attached(job);
    return job;
  }

  /** Starts a job and waits for its result: `start` then `job.result()`. */
  async run(entryRoutineId: string, options: ExecuteOptions & { resultTimeoutMs?: number } = {}): Promise<JobResult> {
    const job = await this.start(entryRoutineId, options);
    return job.result(options.resultTimeoutMs === undefined ? {} : { timeoutMs: options.resultTimeoutMs });
  }

  #prepare(entryRoutineId: string, options: ExecuteOptions): { job: JobState; entryParams: Payload } {
    const entryParams = checkPayload(options.entryParams, "entryParams");
    const metadata = options.metadata === undefined ? undefined : checkPayload(options.metadata, "metadata");
    const timeoutMs = checkTimeout(options.timeoutMs, "timeoutMs") ?? this.executionTimeoutMs;
    this.requireRoutine(entryRoutineId, "entry");
    const job = new JobState(this.flowId);
    if (metadata !== undefined && Object.keys(metadata).length > 0) job.metadata = { ...metadata };
    if (options.outputHandler !== undefined) job.setOutputHandler(options.outputHandler);
    job[kJobData].timeoutMs = timeoutMs;
    return { job, entryParams };
  }

  /**
   * Pauses one job: it is no longer scheduled, its in-flight handlers settle, and its queued
   * tasks stay in its JobState (`pendingTasks`). Called from any handler it does not wait for
   * handlers: the job rests once they settle. Other jobs of the flow are untouched.
   *
   * @param options - `reason` is recorded in the pause point and history; `checkpoint` is stored in `jobState.checkpoint`
   * @returns a promise that resolves once the job's running handlers have settled (from outside a handler) and the pause is durable
   * @throws JobStateError if the job is not running (pausing a paused job does nothing)
   */
  pause(jobState: JobState | string, options: { reason?: string; checkpoint?: Record<string, unknown> } = {}): Promise<void> {
    if (typeof jobState === "string") return controlById(this.#engine, this.#store, jobState, "pause", { reason: options.reason ?? "" });
    try {
      const checkpoint = options.checkpoint === undefined ? undefined : checkPayload(options.checkpoint, "checkpoint");
      return this.#engine.control.pause(jobState, options.reason ?? "", checkpoint);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Resumes a paused job (also one loaded from a document or a store, here or on another host):
   * emits its deferred events, re-queues its pending tasks and returns the same JobState. With a
   * store, its tasks run once the store has leased it here; a copy older than the store's, or a job
   * another live process runs, is refused (`job.result()` rejects naming both revisions).
   *
   * @returns `jobState` itself, now "running"
   * @throws JobStateError if the job is neither paused nor running, belongs to another flow, waits
   * for input, names routines or slots this flow lacks, or is known here to be older than the store's;
   * ValidationError when a pending task of a job arriving from outside does not fit its slot's schema
   */
  resume(jobState: JobState): JobState;
  /** Resumes a job by id: the process holding it resumes it, or, when none does, this one takes it from the store. */
  resume(jobId: string): Promise<void>;
  resume(jobState: JobState | string): JobState | Promise<void> {
    if (typeof jobState === "string") return controlById(this.#engine, this.#store, jobState, "resume", {});
    if (jobState instanceof JobState && this.#engine.runOf(jobState as JobStateCore) === undefined) this.#checkArrivingTasks(jobState);
    return this.#engine.control.resume(jobState);
  }

  /**
   * A job arriving from outside (a document, another flow) carries task data no handler of this
   * flow has checked: each pending task is checked against its slot's schema (schemas that
   * validate synchronously) before anything changes.
   */
  #checkArrivingTasks(job: JobState): void {
    for (const task of job.pendingTasks) {
      const schema = this.getRoutine(task.routineId)?.getSlot(task.slotName)?.schema;
      if (schema === undefined) continue;
      checkStandardIfSync(schema, task.data, `the pending task of '${task.routineId}.${task.slotName}' in job '${job.jobId}'`);
    }
  }

  /** Cancels one job: its queue is dropped and running handlers are told to stop (`ctx.signal`); their late effects are discarded. */
  cancel(jobState: JobState | string, options: { reason?: string } = {}): Promise<void> {
    if (typeof jobState === "string") return controlById(this.#engine, this.#store, jobState, "cancel", { reason: options.reason ?? "" });
    try {
      return this.#engine.control.cancel(jobState, options.reason ?? "");
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Answers an input a job waits for (`ctx.waitForInput`): the data is checked against the
   * request's and the slot's schemas, delivered to `routineId.slotName` as one activation, and
   * the job resumes once it waits for nothing else. An answer that arrives before the job asks is
   * kept and delivered when it does. A job given by id is loaded from the store.
   * @throws (rejects) ValidationError for data that does not fit; RoutiluxError for a slot the job
   * does not wait for (it keeps waiting); JobStateError for a job that has ended
   */
  async answer(job: JobState | string, routineId: string, slotName: string, data: Record<string, unknown>): Promise<void> {
    if (typeof job === "string") return controlById(this.#engine, this.#store, job, "answer", { routineId, slotName, data });
    await this.#engine.control.answer(job, routineId, slotName, data);
  }

  /**
   * The JobState of a job this flow holds in this process, by id: one it runs, or holds paused
   * (with a store only). After `flow.resume(jobId)` or `flow.answer(jobId, ...)` took a job from
   * the store, this is the job to await; a job that has ended, or that another process holds, is
   * not here (subscribe to the job's events before the call to see it end).
   * @returns the JobState, or undefined when this process does not hold the job
   */
  heldJob(jobId: string): JobState | undefined {
    return this.#engine.held(jobId) as JobState | undefined;
  }

  /**
   * Carries on, in this process, every job of this flow that the store holds as "running" and no
   * live process runs: after a crash, on a flow with the same `flowId` and routine ids. Each job
   * is rebuilt at its last committed task and its pending tasks run again, so a task that was in
   * flight at the crash runs twice: its recorded changes count once, but its effects outside the
   * job (an HTTP call, an email) are at-least-once, so make them idempotent. A job is recovered by
   * one process only: the store leases it, and the lease of a process that died on this host is
   * void at once (elsewhere it expires after the store's `leaseMs`). With `includePaused`, paused
   * jobs that no process holds come back too, still paused, ready for `resume` or `answer`.
   *
   * @returns the recovered jobs
   * @throws RoutiluxError when the flow has no store; StoreError when a job cannot be read (then none is recovered)
   */
  recover(options: { includePaused?: boolean } = {}): Promise<JobState[]> {
    return recoverHere(this.#engine, this.#store, options.includePaused === true);
  }

  /** Calls `listener` with every change of the flow's jobs (of one job, with `filter.jobId`); returns the unsubscribe function. */
  subscribe(listener: (event: FlowEvent) => void, filter: FlowEventFilter = {}): () => void {
    return this.#engine.events.subscribe(listener, filter);
  }

  /**
   * The flow's live events as an async iterator: with `jobId`, it begins with the job's status
   * (for a job running here) and ends after its final status event (completed, failed or
   * cancelled; a pause does not end it), or at once for a job that has ended here already;
   * aborting `signal` makes it return.
   */
  events(filter: FlowEventFilter & { signal?: AbortSignal } = {}): AsyncIterableIterator<FlowEvent> {
    return this.#engine.jobEvents(filter);
  }

  /**
   * Stops scheduling, tells running handlers to stop (`ctx.signal`) and waits for them (unless
   * called from a handler) for at most `graceMs` (default 30,000), writes what is buffered and
   * hands back the leases of jobs left running, so a restarted process can recover them at once.
   * Jobs keep their state; a handler still running after the grace period is left behind, and what
   * it does later is not applied.
   */
  shutdown(options: { graceMs?: number } = {}): Promise<void> {
    try {
      return this.#engine.shutdown(checkTimeout(options.graceMs, "graceMs"));
    } catch (error) {
      return Promise.reject(error);
    }
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
   * process. Each routine's class is found by name in `registry`, then in {@link defaultRegistry}
   * (which holds the built-ins), constructed without arguments, then given its configuration and error handler. A malformed
   * document or an unregistered name throws a SerializationError naming the field at fault.
   * @param options - what a document does not hold, such as the clock or the store
   */
  static deserialize(doc: unknown, registry: RoutineRegistry = defaultRegistry, options: FlowRuntimeOptions = {}): Flow {
    return decodeFlowDocument(doc, registryWithDefaults(registry), (definition) => new Flow({ ...options, ...definition }));
  }

  /**
   * Builds a flow from a flow spec (the object form of a YAML or JSON flow file): routine classes
   * are found in `registry`, then in {@link defaultRegistry} (the built-ins); omitted fields take
   * their defaults. Errors are a `FlowSpecError` naming every problem with its dotted path.
   * @param options - what a spec does not hold, such as the store or the clock
   */
  static fromSpec(spec: unknown, registry?: RoutineRegistry, options: FlowRuntimeOptions = {}): Flow {
    return buildFromSpec(spec as FlowSpec, (doc, reg) => Flow.deserialize(doc, reg, options), { registry });
  }

  /** The flow as a flow spec (defaults left out): write it with `stringifyFlowSpec` as YAML or JSON. */
  toSpec(registry: RoutineRegistry = defaultRegistry): FlowSpec {
    return documentToSpec(this.serialize(registry));
  }

  /** See {@link JobState.waitForCompletion}. A wrong job or timeout rejects the promise; it never throws. */
  waitForJob(jobState: JobState, options: { timeoutMs?: number } = {}): Promise<boolean> {
    try {
      return this.#engine.waitRested(jobState, options.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal */
  protected override workersChanged(maxWorkers: number): void {
    this.#engine.scheduler.maxWorkers = maxWorkers;
  }
}

/**
 * Reads a flow file (YAML or JSON, by extension, else by content) and builds its flow: errors name
 * the file, the dotted path and, for YAML, the line and column of every problem.
 *
 * @example
 * ```ts
 * const flow = await loadFlowFile("flows/review.yaml", registry, { store: new SqliteJobStore() });
 * ```
 */
export async function loadFlowFile(
  path: string,
  registry?: RoutineRegistry,
  options: FlowRuntimeOptions & { format?: FlowFileFormat } = {},
): Promise<Flow> {
  const { format, ...runtime } = options;
  const file = await readFlowFile(path, { ...(format === undefined ? {} : { format }), ...(registry === undefined ? {} : { registry }) });
  return buildFromSpec(file.spec, (doc, reg) => Flow.deserialize(doc, reg, runtime), { registry, source: file });
}
