import { RoutiluxError, StoreError } from "../index.js";
import { escapeControls } from "./text.js";

/** The exit codes of the command line. */
export const ExitCode = {
  /** The job completed; or the command did what it was asked. */
  OK: 0,
  /** The job failed or was cancelled; or the store failed. */
  FAILED: 1,
  /** Bad usage or input: an unknown option, job id or file, malformed JSON, an invalid flow file. */
  USAGE: 2,
  /** The job is paused (it may wait for input). */
  PAUSED: 3,
  /** A second Ctrl-C stopped the command at once. */
  INTERRUPTED: 130,
} as const;
/** An exit code of the command line. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the command line reports in one line, with the exit code it ends with. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = ExitCode.USAGE, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** The exit code an error ends the command with: a store failing is 1, other routilux errors are bad input (2). */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof StoreError) return ExitCode.FAILED;
  if (error instanceof RoutiluxError) return ExitCode.USAGE;
  return ExitCode.FAILED;
}

/**
 * What to print for an error: its message (all its lines: a flow file's problems are one a line),
 * or its stack with `verbose`; control characters escaped visibly, as it may quote a handler's text.
 */
export function describeFailure(error: unknown, verbose: boolean): string {
  return escapeControls(failureText(error, verbose));
}

function failureText(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return `routilux: ${String(error)}`;
  const hint = /unknown routine class/.test(error.message)
    ? "\nRoutine classes other than the built-ins come from --routines <module>: a module that exports them (JavaScript, or TypeScript under tsx)"
    : "";
  if (!verbose) return `routilux: ${error.message}${hint}`;
  const parts = [error.stack ?? `${error.name}: ${error.message}`];
  let cause: unknown = error.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    parts.push(`caused by: ${cause instanceof Error ? cause.stack ?? cause.message : JSON.stringify(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.join("\n");
}
