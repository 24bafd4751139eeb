import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { PostgresJobStore, SqliteJobStore, runWorkerProcess, type Flow, type JobStore } from "../../index.js";
import type { Cli } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { openFlow } from "../flows.js";
import { collect } from "../input.js";

interface WorkerCommandOptions {
  store: string;
  flowsDir: string;
  routines?: string[];
  concurrency?: string;
  leaseMs?: string;
}

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`Expected ${name} to be an integer from 1 and up, got '${value}'`);
  return n;
}

/** The flow files of a folder: its .yaml, .yml and .json files, in name order. */
function flowFiles(dir: string): string[] {
  const folder = resolve(dir);
  let names: string[];
  try {
    if (!statSync(folder).isDirectory()) throw new CliError(`--flows-dir '${dir}' is not a folder`);
    names = readdirSync(folder);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`Cannot read --flows-dir '${dir}': ${error instanceof Error ? error.message : String(error)}`);
  }
  const files = names.filter((name) => /\.(ya?ml|json)$/i.test(name)).sort().map((name) => join(folder, name));
  if (files.length === 0) throw new CliError(`--flows-dir '${dir}' holds no flow file (.yaml, .yml or .json)`);
  return files;
}

/** A PostgreSQL URL opens a PostgresJobStore; anything else is a SQLite file. */
async function openWorkerStore(location: string, leaseMs: number | undefined): Promise<JobStore> {
  const lease = leaseMs === undefined ? {} : { leaseMs };
  try {
    if (/^postgres(ql)?:\/\//i.test(location)) {
      const store = new PostgresJobStore({ connectionString: location, ...lease });
      try {
        await store.ready();
      } catch (error) {
        await store.close();
        throw error;
      }
      return store;
    }
    return new SqliteJobStore({ path: location, ...lease });
  } catch (error) {
    throw new CliError(`Cannot open the job store: ${error instanceof Error ? error.message : String(error)}`, ExitCode.USAGE, { cause: error });
  }
}

/** `routilux worker`: runs the jobs any process starts on the store, until SIGINT or SIGTERM. */
export function workerCommand(program: Command, cli: Cli): void {
  program
    .command("worker")
    .description("run the jobs that any process starts on a shared store (PostgreSQL), with the flows of a folder, until Ctrl-C or SIGTERM")
    .requiredOption("--store <postgres-url>", "the shared job store: postgres://user@host:5432/db (or a SQLite file, for workers on one host)")
    .requiredOption("--flows-dir <dir>", "a folder of flow files (.yaml, .yml, .json): the flows whose jobs this worker runs")
    .option("--routines <module>", "modules with the flows' Routine classes (repeatable); JavaScript, or TypeScript under a loader such as tsx", collect)
    .option("--concurrency <n>", "at most this many jobs at once (default 10)")
    .option("--lease-ms <ms>", "how long a lease lasts without renewal (default 15000); use the same value in every process of the store")
    .addHelpText("after", `
On SIGINT or SIGTERM the worker hands back the jobs it holds (their running handlers settle first)
and exits 0; another worker takes them at once.

Examples:
  $ routilux worker --store postgres://app@db:5432/jobs --flows-dir flows --routines ./routines.mjs
  $ routilux worker --store "$DATABASE_URL" --flows-dir flows --concurrency 50`)
    .action(async (options: WorkerCommandOptions) => {
      const concurrency = positiveInteger(options.concurrency, "--concurrency");
      const leaseMs = positiveInteger(options.leaseMs, "--lease-ms");
      const files = flowFiles(options.flowsDir);
      const store = await openWorkerStore(options.store, leaseMs);
      const flows: Flow[] = [];
      try {
        for (const file of files) flows.push((await openFlow(file, options.routines ?? [], store)).flow);
      } catch (error) {
        await store.close();
        throw error;
      }
      const { stopped } = runWorkerProcess({
        store,
        flows,
        ...(concurrency === undefined ? {} : { concurrency }),
        log: (line) => cli.out(line),
      });
      cli.out(`Worker running the jobs of ${flows.map((f) => `'${f.flowId}'`).join(", ")} from ${String(store)}; Ctrl-C hands them back and stops`);
      await stopped;
      cli.out("Worker stopped: every job it held was handed back");
      cli.exitCode = ExitCode.OK;
    });
}
