import { readFileSync } from "node:fs";
import { Command } from "commander";
import type { Cli } from "./context.js";
import { escapeControls } from "./text.js";
import { graphCommand } from "./commands/graph.js";
import { initCommand } from "./commands/init.js";
import { jobsCommand } from "./commands/jobs.js";
import { recoverCommand } from "./commands/recover.js";
import { runCommand } from "./commands/run.js";
import { serveCommand } from "./commands/serve.js";
import { validateCommand } from "./commands/validate.js";
import { workerCommand } from "./commands/worker.js";

/** A command of the command line: adds itself (and its subcommands) to the program. */
export type CommandModule = (program: Command, cli: Cli) => void;

/**
 * The commands of `routilux`, in the order `--help` lists them. A new command is one module that
 * exports a {@link CommandModule}, added here.
 */
export const COMMANDS: readonly CommandModule[] = [
  initCommand,
  runCommand,
  validateCommand,
  graphCommand,
  jobsCommand,
  recoverCommand,
  serveCommand,
  workerCommand,
];

function packageVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * The `routilux` program: every command of {@link COMMANDS}, plus `extra` ones. Errors of usage
 * throw (commander's `exitOverride`) rather than exit, so that `main` chooses the exit code.
 */
export function createProgram(cli: Cli, extra: readonly CommandModule[] = []): Command {
  const program = new Command("routilux")
    .description("Run routilux flow files and manage their jobs in a job store (SQLite by default, ./.routilux/jobs.db).")
    .version(packageVersion(), "-V, --version", "print the version")
    .option("--verbose", "print the stack trace of an error")
    .helpOption("-h, --help", "show help for a command")
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => cli.write(cli.io.stdout, escapeControls(text)),
      writeErr: (text) => cli.write(cli.io.stderr, escapeControls(text)),
      outputError: (text, write) => write(`routilux: ${text.replace(/^error: /, "")}`),
    })
    .exitOverride()
    .addHelpText("after", `
Exit codes: 0 completed, 1 failed or cancelled, 2 bad usage or input, 3 paused (waiting),
130 a second Ctrl-C stopped at once and left the job running (carry it on with routilux recover).

JSON output (off a terminal, or with --json): one line per event, then {"result": ...}; a command
that ends on an error prints {"error": {"message", "exitCode"}} as its last line instead. An
event's "seq" counts the job's events in this process: it starts at 1 again when another process
carries the job on (jobs resume, jobs answer, recover).

Examples:
  $ routilux init my-flow && cd my-flow
  $ routilux run flow.yaml --routines ./routines.mjs --param name=Ada
  $ routilux jobs list --status paused
  $ routilux <command> --help`);
  program.hook("preAction", (_program, action) => {
    if (action.optsWithGlobals<{ verbose?: boolean }>().verbose === true) cli.verbose = true;
  });
  for (const add of [...COMMANDS, ...extra]) add(program, cli);
  return program;
}
