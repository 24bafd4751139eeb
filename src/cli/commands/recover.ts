import type { Command } from "commander";
import type { Flow, JobResult, JobState, JobStore, JobSummary } from "../../index.js";
import type { Cli } from "../context.js";
import { ExitCode } from "../errors.js";
import { openFlow } from "../flows.js";
import { Interrupts, describeResult, exitCodeOfResult, type Hints } from "../follow.js";
import { collect } from "../input.js";
import { storeArgument, withStore, type StoreOptions } from "../store.js";

interface RecoverOptions extends StoreOptions {
  flow?: string;
  routines?: string[];
  json?: boolean;
}

/** Every job the store holds as running, page by page. */
async function runningJobs(store: JobStore): Promise<JobSummary[]> {
  const all: JobSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listJobs({ status: "running", limit: 500, ...(cursor === undefined ? {} : { cursor }) });
    all.push(...page);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return all;
}

/** The worst outcome decides the exit code: failed or cancelled, then paused, then completed. */
function combinedExitCode(results: readonly JobResult[]): number {
  const codes = results.map(exitCodeOfResult);
  if (codes.includes(ExitCode.FAILED)) return ExitCode.FAILED;
  if (codes.includes(ExitCode.PAUSED)) return ExitCode.PAUSED;
  return ExitCode.OK;
}

/** `routilux recover`: carries on the jobs that were running when their process died. */
export function recoverCommand(program: Command, cli: Cli): void {
  program
    .command("recover")
    .description("carry on, in this process, every job the store holds as running that no live process runs (after a crash or a second Ctrl-C), until they rest")
    .option("--flow <flow-file>", "recover the jobs of this flow file's flow only (default: each job's flow, as run recorded)")
    .option("--routines <module>", "modules with the flows' Routine classes (repeatable; default: those run recorded); JavaScript, or TypeScript under a loader such as tsx", collect)
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .option("--json", "print one JSON line per event and a line {\"result\": ...} per job (the default off a terminal)")
    .addHelpText("after", `
Exit codes: 0 all completed (or nothing to recover), 1 one failed or was cancelled, 3 one paused,
130 a second Ctrl-C left them running. Event "seq" numbers start at 1 in this process.

Examples:
  $ routilux recover
  $ routilux recover --flow flow.yaml --routines ./routines.mjs`)
    .action(async (options: RecoverOptions) => {
      const interrupts = new Interrupts();
      try {
        await withStore(options, false, async (store) => {
          cli.exitCode = await recover(cli, store, options, interrupts);
        });
      } finally {
        interrupts.dispose();
      }
    });
}

async function recover(cli: Cli, store: JobStore, options: RecoverOptions, interrupts: Interrupts): Promise<number> {
  const json = options.json === true || !cli.tty;
  const say = (line: string): void => (json ? cli.err(line) : cli.out(line));
  const hints: Hints = { storeArgument: storeArgument(options) };
  const byFile = new Map<string, { routines: string[] }>();
  for (const summary of await runningJobs(store)) {
    const file = options.flow ?? (typeof summary.metadata.flowFile === "string" ? summary.metadata.flowFile : undefined);
    if (file === undefined) {
      say(`Skipped job ${summary.jobId} (flow '${summary.flowId}'): it has no flowFile in its metadata; pass --flow <flow-file>`);
      continue;
    }
    const recorded = Array.isArray(summary.metadata.routines) ? summary.metadata.routines.filter((m): m is string => typeof m === "string") : [];
    if (!byFile.has(file)) byFile.set(file, { routines: options.routines ?? recorded });
  }
  const flows: Flow[] = [];
  const jobs: JobState[] = [];
  try {
    for (const [file, { routines }] of byFile) {
      const { flow } = await openFlow(file, routines, store);
      flows.push(flow);
      if (json) {
        cli.jsonPending = true;
        flow.subscribe((event) => cli.json(event));
      }
      for (const job of await flow.recover()) {
        jobs.push(job);
        say(`Recovered job ${job.jobId} (flow '${flow.flowId}', ${file})`);
      }
    }
    if (jobs.length === 0) {
      cli.jsonPending = false;
      say(`Nothing to recover: no job in ${String(store)} is running without a live process.`);
      return ExitCode.OK;
    }
    const results = await untilRest(flows, jobs, say, interrupts);
    if (results === undefined) {
      const message = `Stopped at once: the jobs not yet at rest are left running in the store; carry them on with: routilux recover${hints.storeArgument}`;
      say(message);
      if (json) cli.jsonError(message, ExitCode.INTERRUPTED);
      return ExitCode.INTERRUPTED;
    }
    await new Promise((resolve) => setImmediate(resolve));
    cli.jsonPending = false;
    for (const result of results) {
      if (json) cli.json({ result });
      const lines = describeResult(result, hints);
      if (!json) cli.out(...lines);
      else if (result.status !== "completed") cli.err(...lines);
    }
    return combinedExitCode(results);
  } finally {
    for (const flow of flows) await flow.shutdown();
  }
}

/** Waits for every job to rest; Ctrl-C pauses them all, a second Ctrl-C stops at once (undefined). */
async function untilRest(
  flows: readonly Flow[],
  jobs: readonly JobState[],
  say: (line: string) => void,
  interrupts: Interrupts,
): Promise<JobResult[] | undefined> {
  let stop: (() => void) | undefined;
  const stopped = new Promise<undefined>((resolve) => (stop = () => resolve(undefined)));
  interrupts.handle(() => {
    say("Pausing the recovered jobs (press Ctrl-C again to stop at once)...");
    for (const job of jobs) flows.find((f) => f.flowId === job.flowId)?.pause(job, { reason: "interrupted" }).catch(() => undefined);
  }, () => stop?.());
  const outcome = await Promise.race([Promise.all(jobs.map((job) => job.result())), stopped]);
  if (outcome === undefined) for (const flow of flows) await flow.shutdown({ graceMs: 1 });
  return outcome;
}
