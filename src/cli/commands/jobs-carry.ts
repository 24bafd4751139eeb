import type { Flow, JobResult, JobState, JobStore, StoredJob } from "../../index.js";
import type { Cli } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { flowForJob } from "../flows.js";
import { Interrupts, describeResult, exitCodeOfResult, follow, reportStopped, reporterFor, type Hints } from "../follow.js";
import { storeArgument, withStore, type StoreOptions } from "../store.js";

/** The stored job of that id, or bad input naming it. */
export async function requireJob(store: JobStore, jobId: string): Promise<{ stored: StoredJob; job: JobState }> {
  const stored = await store.readJob(jobId);
  const job = stored === undefined ? undefined : await store.loadJob(jobId);
  if (stored === undefined || job === undefined) {
    throw new CliError(`No job '${jobId}' in ${String(store)}; list the jobs with: routilux jobs list`);
  }
  return { stored, job };
}

function hasEnded(status: string): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** A job that has ended cannot be controlled: bad input, said before any flow is loaded. */
export function refuseEnded(stored: StoredJob, what: string): void {
  if (hasEnded(stored.status)) {
    throw new CliError(`Cannot ${what} job ${stored.jobId}: it has ${stored.status === "cancelled" ? "been cancelled" : stored.status}`);
  }
}

/** Whether a live process holds the job's lease (runs it, or holds it). */
export function heldByLiveProcess(stored: StoredJob): boolean {
  return stored.leaseOwner !== null && (stored.leaseUntilMs ?? 0) > Date.now();
}

/**
 * A running job cannot be resumed: bad input. One that a live process runs is named with that
 * process; one whose process stopped is for `routilux recover`.
 */
function refuseRunning(stored: StoredJob, options: StoreOptions): void {
  if (stored.status !== "running") return;
  if (heldByLiveProcess(stored)) throw new CliError(`Cannot resume job ${stored.jobId}: it is running (in process ${stored.leaseOwner})`);
  throw new CliError(
    `Cannot resume job ${stored.jobId}: it is running, but no live process holds it (its process stopped); carry it on with: routilux recover${storeArgument(options)}`,
  );
}

export function hintsOf(options: StoreOptions): Hints {
  return { storeArgument: storeArgument(options) };
}

/** Options of the commands that carry a job on (`jobs resume`, `jobs answer`). */
export interface CarryOptions extends StoreOptions {
  flow?: string;
  routines?: string[];
  json?: boolean;
}

/**
 * Resumes or answers a job by id and, when this process took it from the store (no live process
 * held it), shows it until it rests and exits with its outcome.
 */
export async function carryOn(cli: Cli, jobId: string, options: CarryOptions, what: "resume" | "answer", call: (flow: Flow) => Promise<void>): Promise<void> {
  const interrupts = new Interrupts();
  try {
    await withStore(options, false, (store) => carryOnWith(cli, store, interrupts, jobId, options, what, call));
  } finally {
    interrupts.dispose();
  }
}

function revisionOf(stored: StoredJob): string {
  return `${stored.epoch}/${stored.commits.at(-1)?.seq ?? stored.snapshotSeq}`;
}

/**
 * After a call was refused: where a job stands that another process changed meanwhile (a
 * `jobs cancel` racing a `jobs resume`). Waits a little for that process to finish what it does
 * with the job, and gives the job's outcome when it has ended, else its status; undefined when
 * the job did not change (the refusal has another cause).
 */
async function changedMeanwhile(store: JobStore, before: StoredJob): Promise<{ result?: JobResult; status: string } | undefined> {
  for (let attempt = 0; ; attempt++) {
    const now = await store.readJob(before.jobId).catch(() => undefined);
    if (now === undefined) return { status: "deleted" };
    if (revisionOf(now) === revisionOf(before)) return undefined;
    if (hasEnded(now.status)) {
      const job = await store.loadJob(before.jobId).catch(() => undefined);
      const result = job === undefined ? undefined : await job.result().catch(() => undefined);
      return result === undefined ? { status: now.status } : { result, status: now.status };
    }
    if (attempt >= 20) return { status: now.status };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function carryOnWith(
  cli: Cli,
  store: JobStore,
  interrupts: Interrupts,
  jobId: string,
  options: CarryOptions,
  what: "resume" | "answer",
  call: (flow: Flow) => Promise<void>,
): Promise<void> {
  const { stored, job: loaded } = await requireJob(store, jobId);
  refuseEnded(stored, what);
  if (what === "resume") refuseRunning(stored, options);
  const { flow } = await flowForJob(stored, loaded.metadata, options, store);
  const hints = hintsOf(options);
  const json = options.json === true || !cli.tty;
  const reporter = reporterFor(cli, flow, `${flow.flowId} (job ${jobId})`, json);
  let taken: JobState | undefined;
  const unsubscribe = flow.subscribe((event) => {
    taken ??= flow.heldJob(jobId);
    reporter.event(event);
  }, { jobId });
  const finish = (result: JobResult): void => {
    const lines = describeResult(result, hints);
    if (!json) cli.out(...lines);
    else if (result.status !== "completed") cli.err(...lines);
    cli.exitCode = exitCodeOfResult(result);
  };
  try {
    try {
      await call(flow);
    } catch (error) {
      // Another process changed the job meanwhile: when it ended the job, say so and end as the
      // job did; else refuse in one line.
      const changed = await changedMeanwhile(store, stored);
      if (changed === undefined) throw error;
      const { result, status } = changed;
      if (result === undefined) {
        throw new CliError(`Cannot ${what} job ${jobId}: it was changed meanwhile (by another process, it seems); it is ${status} now`, ExitCode.USAGE, { cause: error });
      }
      reporter.note(`Job ${jobId} ${status === "cancelled" ? "was cancelled" : `has ${status}`} in another process meanwhile.`);
      reporter.done(result);
      finish(result);
      return;
    }
    taken ??= flow.heldJob(jobId);
    if (taken === undefined) {
      reporter.stop();
      const now = await store.readJob(jobId);
      const done = what === "resume" ? "Resumed" : "Answered";
      cli.err(`${done} job ${jobId} in the process that holds it; it is ${now?.status ?? "gone"} there.`);
      cli.jsonPending = false;
      cli.exitCode = ExitCode.OK;
      return;
    }
    const followed = await follow(flow, taken, reporter, interrupts);
    if ("stopped" in followed) {
      cli.exitCode = await reportStopped(cli, reporter, store, jobId, hints, json);
      return;
    }
    finish(followed.result);
  } finally {
    unsubscribe();
    await flow.shutdown();
  }
}
