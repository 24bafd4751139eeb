import type { Clock } from "../core/clock.js";
import { outsideContext } from "../core/context.js";
import { JobStateError, RoutiluxError, showValue } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { kJobData, type JobData, type JobWaiter } from "../state/job-data.js";
import type { JobStatus, LiveJobStatus } from "../state/job-snapshot.js";
import type { JobStateCore } from "../state/job-state.js";
import type { JobRun } from "./job-run.js";

/**
 * Every status change a job may make; nothing leaves "completed", "failed" or "cancelled". A
 * paused job fails when a handler still in flight from before the pause fails for good (STOP).
 * @internal
 */
export const ALLOWED_MOVES: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ["running"],
  running: ["paused", "completed", "failed", "cancelled"],
  paused: ["running", "failed", "cancelled"],
  completed: [],
  failed: [],
  cancelled: [],
};

/** Whether a job never changes again in this status. @internal */
export function isFinal(status: LiveJobStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** Checks a status change against the table; a move it lacks is an engine bug, reported as one. @internal */
export function checkMove(jobId: string, from: JobStatus, to: JobStatus): void {
  if (!ALLOWED_MOVES[from].includes(to)) {
    throw new JobStateError(`Job '${jobId}' cannot go from "${from}" to "${to}"; allowed from "${from}": ${ALLOWED_MOVES[from].join(", ") || "none"}`);
  }
}

/** The engine parts the lifecycle drives. @internal */
export interface LifecycleHost {
  readonly flowId: string;
  now(): number;
  /** Counts the move in the flow's job figures and keeps the set of jobs running here. */
  counted(run: JobRun, from: JobStatus | undefined, to: JobStatus): void;
  /** Tells the flow's live events. */
  statusEvent(run: JobRun, to: JobStatus, atMs: number): void;
}

/** Whether a job rests: it has ended, or it is paused with no handler of it running. @internal */
export function rests(run: JobRun): boolean {
  const status = run.job.status;
  return isFinal(status) || (status === "paused" && run.data.inFlight.length === 0);
}

/**
 * The one way a job's status changes: checks the move against the table, records it in the
 * history, notes it for the journal, counts it, tells the live events and wakes the waiters whose
 * condition now holds. A job that ends while persisted becomes final: its state can no longer change.
 * @internal
 */
export function transition(host: LifecycleHost, run: JobRun, to: JobStatus, record?: readonly [string, string, Payload]): void {
  const job = run.job;
  const from = job.status;
  checkMove(job.jobId, from, to);
  const now = host.now();
  job.status = to;
  run.data.updatedAtMs = now;
  host.counted(run, run.counted ? from : undefined, to);
  run.counted = true;
  // A job's first event says it runs; after that, the status event follows the record that explains it,
  // so a reader that stops at the final status has seen everything.
  if (from === "pending") host.statusEvent(run, to, now);
  if (record !== undefined) job.pushRecord(record[0], record[1], record[2], now);
  if (from !== "pending") host.statusEvent(run, to, now);
  job.jobFieldsChanged();
  if (rests(run)) job.compact();
  wakeWaiters(run);
}

/**
 * Tells the job's waiters that it rests, once what it did is durable. A waiter is told only for
 * a status that holds when it is told: if the job runs again before its commits are written, its
 * waiters keep waiting.
 * @internal
 */
export function wakeWaiters(run: JobRun): void {
  const data = run.data;
  if (data.waiters === undefined || !rests(run)) return;
  const waiters = data.waiters;
  data.waiters = undefined;
  const journal = data.journal;
  if (journal === undefined) {
    for (const waiter of waiters) waiter.wake(true);
    return;
  }
  journal.flush(run.job).then(
    () => {
      if (rests(run)) for (const waiter of waiters) waiter.wake(true);
      else (data.waiters ??= []).push(...waiters);
    },
    (error: unknown) => {
      for (const waiter of waiters) waiter.fail(error instanceof Error ? error : new Error(String(error)));
    },
  );
}

/**
 * Lets the job's waiters go: with `error`, they learn the job was lost; otherwise they are told
 * `rested` (false: it will not rest here, as at shutdown).
 * @internal
 */
export function releaseWaiters(data: JobData, error?: Error, rested = false): void {
  const waiters = data.waiters;
  data.waiters = undefined;
  for (const waiter of waiters ?? []) {
    if (error === undefined) waiter.wake(rested);
    else waiter.fail(error);
  }
}

/** What a wait for a job to rest resolves to, for each way it ends. @internal */
export interface RestOutcomes<T> {
  readonly rested: T;
  readonly released: T;
  readonly timeout: T;
}

/** The outcomes by name. @internal */
export const REST_OUTCOMES: RestOutcomes<"rested" | "released" | "timeout"> = { rested: "rested", released: "released", timeout: "timeout" };

/** The outcomes as `waitForCompletion` tells them: whether the job rested. @internal */
export const RESTED_OR_NOT: RestOutcomes<boolean> = { rested: true, released: false, timeout: false };

/** A caller of {@link waitToRest}: one object a wait, for jobs are waited for by the thousand. */
class RestWaiter<T> implements JobWaiter {
  timer: ReturnType<Clock["setTimeout"]> | undefined;
  readonly #resolve: (outcome: T) => void;
  readonly #reject: (error: Error) => void;
  readonly #clock: Clock;
  readonly #outcomes: RestOutcomes<T>;

  constructor(resolve: (outcome: T) => void, reject: (error: Error) => void, clock: Clock, outcomes: RestOutcomes<T>) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#clock = clock;
    this.#outcomes = outcomes;
  }

  wake(rested: boolean): void {
    if (this.timer !== undefined) this.#clock.clearTimeout(this.timer);
    this.#resolve(rested ? this.#outcomes.rested : this.#outcomes.released);
  }

  fail(error: Error): void {
    if (this.timer !== undefined) this.#clock.clearTimeout(this.timer);
    this.#reject(error);
  }

  /** The wait timed out: the job runs on. */
  timedOut(): void {
    this.timer = undefined;
    this.#resolve(this.#outcomes.timeout);
  }
}

/**
 * Waits for the job to rest: "rested" (completed, failed, cancelled, or paused with no handler
 * running, and durable), "timeout", or "released" (this process let it go: shutdown). Rejects
 * with the error that lost the job to this process.
 * @internal
 */
export function waitToRest<T>(job: JobStateCore, timeoutMs: number | undefined, clock: Clock, outcomes: RestOutcomes<T>): Promise<T> {
  if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
    throw new RoutiluxError(`Expected \`timeoutMs\` to be a number from 0 and up, got ${showValue(timeoutMs)}`);
  }
  const data = job[kJobData];
  if (data.lost !== undefined) return Promise.reject(data.lost);
  return new Promise<T>((resolve, reject) => {
    const waiter = new RestWaiter(resolve, reject, clock, outcomes);
    if (data.waiters === undefined) data.waiters = [waiter];
    else data.waiters.push(waiter);
    if (timeoutMs !== undefined) {
      waiter.timer = outsideContext(() => clock.setTimeout(() => {
        data.waiters = data.waiters?.filter((w) => w !== waiter);
        if (data.waiters?.length === 0) data.waiters = undefined;
        waiter.timedOut();
      }, timeoutMs));
    }
    const run = data.run as JobRun | undefined;
    if (run !== undefined && !run.detached) wakeWaiters(run);
    // It runs nowhere here (let go at shutdown, or never attached): it rests now, or it will not rest here.
    else releaseWaiters(data, undefined, isFinal(job.status) || job.status === "paused");
  });
}
