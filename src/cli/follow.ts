import type { Flow, JobResult, JobState, JobStore } from "../index.js";
import type { Cli } from "./context.js";
import { ExitCode } from "./errors.js";
import { inlineJson } from "./format.js";
import { JsonReporter, ProgressView, type Reporter } from "./progress.js";
import { quoteArgument } from "./store.js";
import { escapeControls as esc } from "./text.js";

/** How to name the next command in hints: the store option, or that there is no store. */
export interface Hints {
  /** ` --store <path>` when a store other than the default is used. */
  readonly storeArgument: string;
  /** The job is in no store (`run --memory`): it cannot be resumed. */
  readonly memory?: boolean;
}

/** The reporter for a command's output: JSON lines with `--json` or off a terminal, else the live view. */
export function reporterFor(cli: Cli, flow: Flow, title: string, json: boolean | undefined): Reporter {
  return json === true || !cli.tty ? new JsonReporter(cli) : new ProgressView(cli, flow, title);
}

/** The exit code of a job's outcome: 0 completed, 1 failed or cancelled, 3 paused. */
export function exitCodeOfResult(result: JobResult): number {
  switch (result.status) {
    case "completed":
      return ExitCode.OK;
    case "paused":
      return ExitCode.PAUSED;
    default:
      return ExitCode.FAILED;
  }
}

/** What to do about a paused job: answer what it waits for, or resume it. */
export function pausedHints(
  jobId: string,
  waitingFor: ReadonlyArray<{ routineId: string; slotName: string; prompt?: string }>,
  hints: Hints,
): string[] {
  if (hints.memory === true) return ["It is in no store (--memory), so it cannot be resumed."];
  if (waitingFor.length === 0) return [`Resume it with: routilux jobs resume ${jobId}${hints.storeArgument}`];
  const lines = ["It waits for input:"];
  for (const w of waitingFor) {
    lines.push(`  ${esc(w.routineId)}.${esc(w.slotName)}${w.prompt === undefined ? "" : `: ${esc(w.prompt)}`}`);
    lines.push(`  answer with: routilux jobs answer ${jobId} --routine ${quoteArgument(w.routineId)} --slot ${quoteArgument(w.slotName)} --data '{...}'${hints.storeArgument}`);
  }
  return lines;
}

/** A job's outcome for people: one line, and what to do next. */
export function describeResult(result: JobResult, hints: Hints): string[] {
  switch (result.status) {
    case "completed": {
      const lines = [`Job ${result.jobId} completed.`];
      for (const output of result.outputs.slice(0, 10)) lines.push(`  output ${output.routineId}.${output.outputType}: ${inlineJson(output.data)}`);
      if (result.outputs.length > 10) lines.push(`  ... and ${result.outputs.length - 10} more outputs (routilux jobs show ${result.jobId} --json)`);
      if (Object.keys(result.sharedData).length > 0) lines.push(`  shared data: ${inlineJson(result.sharedData, 200)}`);
      return lines;
    }
    case "failed":
      return [
        `Job ${result.jobId} failed in routine '${esc(result.error.routineId)}': ${esc(result.error.errorType)}: ${esc(result.error.message)}`,
        ...(hints.memory === true ? [] : [`See its history with: routilux jobs show ${result.jobId}${hints.storeArgument}`]),
      ];
    case "cancelled":
      return [`Job ${result.jobId} was cancelled${result.reason === undefined || result.reason === "" ? "" : `: ${esc(result.reason)}`}.`];
    case "paused": {
      const reason = result.pausePoint.reason;
      return [`Job ${result.jobId} is paused${reason === "" ? "" : ` (${esc(reason)})`}.`, ...pausedHints(result.jobId, result.waitingFor ?? [], hints)];
    }
  }
}

/** Where a followed job ended up: its result, or stopped at once by a second Ctrl-C. */
export type Followed = { readonly result: JobResult } | { readonly stopped: true };

/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that runs jobs. Listening starts when it is made, before
 * any job exists, so that no signal ends the process by default while a job is started; signals
 * that came early are handed on when a command says what to do with them.
 */
export class Interrupts {
  #count = 0;
  #first: (() => void) | undefined;
  #second: (() => void) | undefined;
  readonly #handle = (): void => {
    this.#count++;
    if (this.#count === 1) this.#first?.();
    else this.#second?.();
  };

  constructor() {
    process.on("SIGINT", this.#handle);
    process.on("SIGTERM", this.#handle);
  }

  /** What the first signal does, and what a second does (at once when they came already). */
  handle(first: () => void, second: () => void): void {
    this.#first = first;
    this.#second = second;
    if (this.#count >= 1) first();
    if (this.#count >= 2) second();
  }

  /** Stops listening: signals have their default effect again. */
  dispose(): void {
    process.off("SIGINT", this.#handle);
    process.off("SIGTERM", this.#handle);
  }
}

/**
 * Shows a job's events until it rests. Ctrl-C (or SIGTERM) pauses the job, which then rests paused
 * and stored; a second Ctrl-C stops at once: the flow shuts down without waiting, and the job is
 * left in the store as it was last written.
 */
export async function follow(flow: Flow, job: JobState, reporter: Reporter, interrupts: Interrupts): Promise<Followed> {
  let stop: (() => void) | undefined;
  const stopped = new Promise<"stopped">((resolve) => (stop = () => resolve("stopped")));
  reporter.attach(job);
  interrupts.handle(() => {
    reporter.note(`Pausing job ${job.jobId}: waiting for its running handlers (press Ctrl-C again to stop at once)...`);
    // A job that rests meanwhile cannot be paused: its result says how it ended.
    flow.pause(job, { reason: "interrupted" }).catch(() => undefined);
  }, () => stop?.());
  const outcome = await Promise.race([job.result(), stopped]);
  if (outcome === "stopped") {
    reporter.stop();
    await flow.shutdown({ graceMs: 1 });
    return { stopped: true };
  }
  // Events are delivered in a microtask after each change: let the last ones out first.
  await new Promise((resolve) => setImmediate(resolve));
  reporter.done(outcome);
  return { result: outcome };
}

/** What to say after a second Ctrl-C, the exit code, and the job's outcome when it rests in the store. */
export interface Stopped {
  readonly lines: string[];
  readonly exitCode: number;
  /** The stored job's outcome when it rests (paused, or ended meanwhile). */
  readonly result?: JobResult;
}

/**
 * After a second Ctrl-C: where the job stands in the store, how to carry it on, and the exit code:
 * 3 when it is stored paused, 130 when it is left running (for `routilux recover`) or lost.
 */
export async function describeStopped(store: JobStore | undefined, jobId: string, hints: Hints): Promise<Stopped> {
  const stopped = (lines: string[], exitCode: number = ExitCode.INTERRUPTED): Stopped => ({ lines, exitCode });
  if (store === undefined) return stopped([`Stopped at once: job ${jobId} was in no store (--memory) and is lost.`]);
  const stored = await store.readJob(jobId);
  if (stored === undefined) return stopped([`Stopped at once: job ${jobId} is not in the store.`]);
  if (stored.status === "running" || stored.status === "pending") {
    return stopped([
      `Stopped at once: job ${jobId} is left running in the store, at its last committed task.`,
      `Carry it on with: routilux recover${hints.storeArgument}`,
    ]);
  }
  const job = await store.loadJob(jobId);
  const result = job === undefined ? undefined : await job.result().catch(() => undefined);
  const withResult = (lines: string[], exitCode: number): Stopped =>
    (result === undefined ? { lines, exitCode } : { lines, exitCode, result });
  if (stored.status === "paused") {
    return withResult([`Stopped at once: job ${jobId} is paused in the store.`, `Resume it with: routilux jobs resume ${jobId}${hints.storeArgument}`], ExitCode.PAUSED);
  }
  return withResult([`Stopped at once: job ${jobId} is ${stored.status}.`], stored.status === "completed" ? ExitCode.OK : ExitCode.FAILED);
}

/**
 * Says where a job stopped at once by a second Ctrl-C stands, and returns the exit code. In JSON
 * mode the output still ends with one last line: `{"result": ...}` when the job rests in the
 * store, else `{"error": {"message", "exitCode"}}`.
 */
export async function reportStopped(
  cli: Cli,
  reporter: Reporter,
  store: JobStore | undefined,
  jobId: string,
  hints: Hints,
  json: boolean,
): Promise<number> {
  const { lines, exitCode, result } = await describeStopped(store, jobId, hints);
  cli.err(...lines);
  if (json) {
    if (result !== undefined) reporter.done(result);
    else cli.jsonError(lines.join(" "), exitCode);
  }
  return exitCode;
}
