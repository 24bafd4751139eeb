import { CommanderError } from "commander";
import { Cli, type CliIo } from "./context.js";
import { ExitCode, describeFailure, exitCodeOf } from "./errors.js";
import { createProgram } from "./program.js";

/**
 * Runs the command line with `argv` (the arguments after the program name) and resolves with the
 * exit code: 0 completed, 1 failed or cancelled, 2 bad usage or input, 3 paused. Errors are one
 * line (a flow file's problems one a line); `--verbose` adds their stack traces.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const cli = new Cli(io);
  cli.verbose = argv.includes("--verbose");
  const program = createProgram(cli);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return cli.exitCode;
  } catch (error) {
    // Commander has printed its message (or the help, or the version) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    cli.err(describeFailure(error, cli.verbose));
    const exitCode = exitCodeOf(error);
    // JSON lines of a job's events end with one last line, whatever happens.
    if (cli.jsonPending) cli.jsonError(error instanceof Error ? error.message : String(error), exitCode);
    return exitCode;
  }
}

/** The process's standard output, standard error and environment. */
function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
