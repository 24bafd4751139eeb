import { randomUUID } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { JobStateError, RoutiluxError, SerializationError, TimeoutError, describeError } from "../core/errors.js";
import type { JobRun } from "../runtime/job-run.js";
import { decodeJobDocument, encodeJobDocument, type JobStateDocument } from "../serialization/job-document.js";
import { kJobData } from "../state/job-data.js";
import { registerJobClass } from "../state/job-factory.js";
import { JobStateCore, type kLiveStatus } from "../state/job-state.js";
import type { OutputRecord, PausePoint } from "../state/records.js";
import type { WaitRequest } from "../state/write-set.js";
import type { Flow } from "./flow.js";
import { restInStore, storeFollowing } from "./remote-result.js";

/** An input a paused job waits for: answer it with `flow.answer(job, routineId, slotName, data)`. */
export interface WaitingInput {
  readonly routineId: string;
  readonly slotName: string;
  readonly prompt?: string;
  /** A JSON Schema the answer must fit. */
  readonly schema?: Record<string, unknown>;
  /** Inputs sharing a group are alternatives: the first answer clears the others. */
  readonly group?: string;
}

/** How a job came to rest: narrowing on `status` gives the fields of that outcome. */
export type JobResult =
  | { readonly status: "completed"; readonly jobId: string; readonly outputs: OutputRecord[]; readonly sharedData: Record<string, unknown> }
  | { readonly status: "failed"; readonly jobId: string; readonly error: { readonly routineId: string; readonly message: string; readonly errorType: string } }
  | { readonly status: "paused"; readonly jobId: string; readonly pausePoint: PausePoint; readonly waitingFor?: WaitingInput[] }
  | { readonly status: "cancelled"; readonly jobId: string; readonly reason?: string };

/**
 * Everything that changes during one execution of a flow: status, history, routine states,
 * shared data and log, outputs, deferred events, the inputs it waits for and its queued tasks.
 * Returned by `flow.execute()`; serializable at any time and resumable on any host.
 *
 * Inside a handler, what the handler writes to its own job (emits, shared data and log, routine
 * states, outputs) takes effect when the handler succeeds and is discarded when it fails; the
 * handler reads its own writes meanwhile.
 *
 * @example
 * ```ts
 * const job = flow.execute("source", { entryParams: { value: "A" } });
 * const result = await job.result();
 * if (result.status === "completed") console.log(result.sharedData);
 * ```
 */
export class JobState extends JobStateCore {
  /** Type only: `job.status` reads as {@link LiveJobStatus}. @internal */
  declare readonly [kLiveStatus]: true;

  /** Writes the whole job as a versioned plain-JSON document (running handlers' tasks as pending). */
  serialize(): JobStateDocument {
    return encodeJobDocument(this.toSnapshot());
  }

  /**
   * Replaces this job's state with a document's. The document is validated first: a malformed one
   * throws a {@link SerializationError} naming the first bad field, and this job is unchanged. A
   * job that runs (or has handlers running) is refused with a {@link JobStateError}: pause it first.
   */
  deserialize(doc: unknown): void {
    const data = this[kJobData];
    const run = data.run as JobRun | undefined;
    const runsHere = run !== undefined && !run.detached && this.status === "running";
    // A handler left behind by a shutdown still runs, and still counts as in flight, until it settles.
    if (runsHere || data.inFlight.length > 0) {
      throw new JobStateError(
        `Cannot deserialize into job '${this.jobId}': it is ${this.status}` + (runsHere ? ` on flow '${this.flowId}' in this process` : "") +
        (data.inFlight.length > 0 ? ` with ${data.inFlight.length} handler(s) running` : "") + "; pause it and let its handlers settle first",
      );
    }
    const snapshot = decodeJobDocument(doc);
    this.restoreSnapshot(snapshot);
    // The state is someone else's now: this copy no longer belongs to a run or a journal here. Its
    // old run is let go, so the scheduler never serves the job through it after a resume.
    if (run !== undefined) run.detached = true;
    data.run = undefined;
    data.journal = undefined;
    data.lost = undefined;
  }

  /** A new JobState from a document (see {@link JobState.deserialize}). */
  static fromDocument(doc: unknown): JobState {
    const job = new JobState();
    job.deserialize(doc);
    return job;
  }

  /** Writes the document to a file (atomically: a temporary file, then a rename). */
  async save(path: string): Promise<void> {
    const text = JSON.stringify(this.serialize(), null, 2);
    const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temporary, text, "utf8");
    await rename(temporary, path);
  }

  /** Reads a JobState from a file written by {@link JobState.save}. */
  static async load(path: string): Promise<JobState> {
    const text = await readFile(path, "utf8");
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      throw new SerializationError(`File '${path}' is not a JSON document: ${describeError(error).message}`, { cause: error });
    }
    return JobState.fromDocument(doc);
  }

  /**
   * Waits until the job is completed, failed, cancelled or paused (`true`), or until `timeoutMs`
   * passes (`false`). Resolves at once when the job already rests; never polls. With a store, it
   * resolves once that state is durable, and rejects with the `StoreError` if it cannot be.
   *
   * @param flow - the flow running the job
   * @param options - `timeoutMs` bounds the wait, not the job: on timeout the job runs on
   * @returns `true` once the job rests, `false` if `timeoutMs` passed first (or the flow shut down)
   */
  static waitForCompletion(flow: Flow, jobState: JobState, options?: { timeoutMs?: number }): Promise<boolean> {
    return flow.waitForJob(jobState, options);
  }

  /**
   * Waits until the job rests and says how: completed (its outputs and shared data), failed (the
   * routine, message and error type), paused (the pause point and what it waits for) or
   * cancelled. Rejects with a `TimeoutError` after `timeoutMs` (the job runs on), and with the
   * `StoreError` when its state could not be made durable.
   */
  async result(options: { timeoutMs?: number } = {}): Promise<JobResult> {
    const run = this[kJobData].run as JobRun | undefined;
    if (run === undefined || run.detached) {
      const lost = this[kJobData].lost;
      if (lost !== undefined) throw lost;
      const store = storeFollowing(this);
      if (store !== undefined && (this.status === "running" || this.status === "paused")) {
        return resultOf(await restInStore(store, this.jobId, options.timeoutMs));
      }
      if (this.status === "running" || this.status === "pending") {
        throw new JobStateError(`Job '${this.jobId}' is ${this.status} but runs on no flow in this process; resume or recover it first`);
      }
      return resultOf(this);
    }
    const outcome = await run.engine.wait(this, options.timeoutMs, "result");
    if (outcome === "timeout") {
      throw new TimeoutError(`Job '${this.jobId}' did not rest within ${options.timeoutMs} ms; it is ${this.status} and runs on`);
    }
    if (outcome === "released") {
      throw new RoutiluxError(`Job '${this.jobId}' will not rest in this process: flow '${this.flowId}' shut down while it was ${this.status}`);
    }
    return resultOf(this);
  }
}

// The engine sees a JobState as the JobStateCore it is (its `status` read as JobStatus).
registerJobClass(() => new JobState() as JobStateCore);

/** The outcome of a job that rests; throws for a job that does not. @internal */
export function resultOf(job: JobState): JobResult {
  const jobId = job.jobId;
  switch (job.status) {
    case "completed":
      return { status: "completed", jobId, outputs: [...job.outputLog], sharedData: { ...job.sharedData } };
    case "failed":
      return { status: "failed", jobId, error: failureOf(job) };
    case "cancelled": {
      const reason = lastRecord(job, "cancelled")?.data.reason;
      return typeof reason === "string" && reason !== "" ? { status: "cancelled", jobId, reason } : { status: "cancelled", jobId };
    }
    case "paused": {
      const pausePoint = job.pausePoints.at(-1) ?? { timestamp: job.updatedAt, reason: "" };
      const waiting = job.waitingFor.map(waitingInput);
      return waiting.length > 0 ? { status: "paused", jobId, pausePoint, waitingFor: waiting } : { status: "paused", jobId, pausePoint };
    }
    default:
      throw new JobStateError(`Job '${jobId}' is ${job.status}: it has no result yet`);
  }
}

function waitingInput(w: WaitRequest): WaitingInput {
  return { ...w };
}

function lastRecord(job: JobState, eventName: string): { routineId: string; eventName: string; data: Record<string, unknown> } | undefined {
  const history = job.executionHistory;
  for (let i = history.length - 1; i >= 0; i--) {
    const record = history[i]!;
    if (record.routineId === job.flowId && record.eventName === eventName) return record;
  }
  return undefined;
}

/** Why a failed job failed: its failure record, else the first routine that failed. */
function failureOf(job: JobState): { routineId: string; message: string; errorType: string } {
  const failed = lastRecord(job, "failed") ?? lastRecord(job, "store_error");
  const data = failed?.data ?? {};
  if (typeof data.routineId === "string" && typeof data.error === "string") {
    return { routineId: data.routineId, message: data.error, errorType: typeof data.errorType === "string" ? data.errorType : "Error" };
  }
  if (failed?.eventName === "store_error") return { routineId: job.flowId, message: typeof data.error === "string" ? data.error : "", errorType: "StoreError" };
  const [routineId, state] = Object.entries(job.routineStates).find(([, s]) => s.status === "failed" || s.status === "error") ?? [job.flowId, {}];
  return {
    routineId,
    message: typeof state.error === "string" ? state.error : "failed",
    errorType: typeof state.errorType === "string" ? state.errorType : "Error",
  };
}
