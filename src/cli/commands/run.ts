import { basename } from "node:path";
import type { Command } from "commander";
import type { JobStore } from "../../index.js";
import type { Cli } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { entryOf, openFlow, runMetadata } from "../flows.js";
import { Interrupts, describeResult, exitCodeOfResult, follow, reportStopped, reporterFor, type Hints } from "../follow.js";
import { collect, parseMs, parseParams } from "../input.js";
import { openStore, storeArgument } from "../store.js";

interface RunOptions {
  entry?: string;
  param?: string[];
  params?: string;
  store?: string;
  memory?: boolean;
  timeout?: string;
  json?: boolean;
  routines?: string[];
}

/** `routilux run <flow-file>`: starts a job and shows it until it rests. */
export function runCommand(program: Command, cli: Cli): void {
  program
    .command("run")
    .description("run a flow file: start a job, show its progress until it rests, and exit with its outcome")
    .argument("<flow-file>", "the flow file (YAML or JSON)")
    .option("--entry <routine-id>", "the routine to start at (default: the one routine with a trigger slot that no connection leads to)")
    .option("--param <key=value>", "an entry param; the value is read as JSON when it is JSON, else as text (repeatable)", collect)
    .option("--params <json>", "the entry params as a JSON object, or @file.json; --param values go over it")
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .option("--memory", "keep the job in memory only: nothing is stored, and a paused job cannot be resumed")
    .option("--timeout <ms>", "fail the job if it runs longer than this")
    .option("--json", "print one JSON line per event and a last line {\"result\": ...} (the default off a terminal)")
    .option("--routines <module>", "a module whose exported Routine classes the flow file may name (repeatable); JavaScript, or TypeScript under a loader such as tsx", collect)
    .addHelpText("after", `
On a terminal it shows each routine's status, tasks, retries and time, redrawn in place. Ctrl-C
pauses the job and stores it (resume it with routilux jobs resume <id>); a second Ctrl-C stops at once.

Exit codes: 0 completed, 1 failed or cancelled, 2 bad usage or input, 3 paused (waiting),
130 a second Ctrl-C left the job running (carry it on with routilux recover).

JSON output (off a terminal, or with --json): one line per event, then {"result": ...}; a command
that ends on an error prints {"error": {"message", "exitCode"}} as its last line instead. An
event's "seq" counts the job's events in this process: it starts at 1 again when another process
carries the job on (jobs resume, jobs answer, recover).

Examples:
  $ routilux run flow.yaml --routines ./routines.mjs --param name=Ada
  $ routilux run flow.yaml --params '{"items": [1, 2, 3]}' --json
  $ npx tsx node_modules/.bin/routilux run flow.yaml --routines ./routines.ts`)
    .action(async (file: string, options: RunOptions) => {
      if (options.memory === true && options.store !== undefined) throw new CliError("--memory and --store exclude each other; pass one of them");
      const interrupts = new Interrupts();
      try {
        cli.exitCode = await checkAndRun(cli, file, options, interrupts);
      } finally {
        interrupts.dispose();
      }
    });
}

async function checkAndRun(cli: Cli, file: string, options: RunOptions, interrupts: Interrupts): Promise<number> {
  const params = parseParams(options.params, options.param);
  const timeoutMs = options.timeout === undefined ? undefined : parseMs(options.timeout, "--timeout");
  // The flow file and its routines are checked before the store is opened (and maybe created):
  // bad input changes nothing.
  await openFlow(file, options.routines ?? [], undefined);
  const store = options.memory === true ? undefined : openStore(options, true);
  try {
    return await run(cli, file, options, params, timeoutMs, store, interrupts);
  } finally {
    await store?.close();
  }
}

async function run(
  cli: Cli,
  file: string,
  options: RunOptions,
  params: Record<string, unknown>,
  timeoutMs: number | undefined,
  store: JobStore | undefined,
  interrupts: Interrupts,
): Promise<number> {
  const loaded = await openFlow(file, options.routines ?? [], store);
  const { flow } = loaded;
  try {
    const entry = entryOf(flow, options.entry);
    const hints: Hints = { storeArgument: storeArgument(options), memory: store === undefined };
    const json = options.json === true || !cli.tty;
    const reporter = reporterFor(cli, flow, `${flow.flowId} (${basename(file)})`, json);
    let jobId: string | undefined;
    // Subscribed before the start: the job's first events come before start() resolves.
    const early: Parameters<typeof reporter.event>[0][] = [];
    const unsubscribe = flow.subscribe((event) => {
      if (jobId === undefined) early.push(event);
      else if (event.jobId === jobId) reporter.event(event);
    });
    try {
      const metadata = runMetadata(loaded);
      const job = await flow.start(entry, { entryParams: params, metadata, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
      jobId = job.jobId;
      for (const event of early.splice(0)) if (event.jobId === jobId) reporter.event(event);
      const followed = await follow(flow, job, reporter, interrupts).catch(async (error: unknown) => {
        // Deleted from the store while it ran (jobs delete --force): say that, not how the store refused.
        if (store !== undefined && (await store.readJob(job.jobId).catch(() => null)) === undefined) {
          throw new CliError(`Job ${job.jobId} was deleted from the store while it ran (jobs delete --force); this process stopped it`, ExitCode.FAILED, { cause: error });
        }
        throw error;
      });
      if ("stopped" in followed) return await reportStopped(cli, reporter, store, job.jobId, hints, json);
      const lines = describeResult(followed.result, hints);
      // With JSON on standard output, people read what went wrong on standard error.
      if (!json) cli.out(...lines);
      else if (followed.result.status !== "completed") cli.err(...lines);
      return exitCodeOfResult(followed.result);
    } finally {
      unsubscribe();
    }
  } finally {
    await flow.shutdown();
  }
}
