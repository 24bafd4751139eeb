import { readFileSync } from "node:fs";
import { CliError } from "./errors.js";

/** Collects a repeatable option's values (commander's `argParser` for `--param`, `--routines`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** JSON given on the command line, or read from a file with `@path`; `what` names the option in errors. */
export function parseJsonArgument(text: string, what: string): unknown {
  let source = text;
  if (text.startsWith("@")) {
    try {
      source = readFileSync(text.slice(1), "utf8");
    } catch (error) {
      throw new CliError(`Cannot read ${what} from '${text.slice(1)}': ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new CliError(`${what} is not valid JSON (${detail}): ${source.length > 60 ? `${source.slice(0, 60)}...` : source}`);
  }
}

/** A plain JSON object given on the command line (`--params`, `--data`). */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  const value = parseJsonArgument(text, what);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError(`${what} must be a JSON object such as '{"name": "Ada"}', got ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * The entry params: `--params` (a JSON object), then each `--param key=value` over it. A value is
 * read as JSON when it is valid JSON (`42`, `true`, `[1, 2]`, `"text"`), else as a string.
 */
export function parseParams(params: string | undefined, pairs: readonly string[] | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = params === undefined ? {} : parseJsonObject(params, "--params");
  for (const pair of pairs ?? []) {
    const at = pair.indexOf("=");
    const key = at < 0 ? "" : pair.slice(0, at).trim();
    if (key === "") throw new CliError(`--param expects key=value, such as --param name=Ada; got '${pair}'`);
    if (key === "__proto__") throw new CliError("--param cannot set '__proto__'");
    const raw = pair.slice(at + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      // not JSON: the text itself
    }
    result[key] = value;
  }
  return result;
}

/** A positive number of milliseconds given on the command line. */
export function parseMs(text: string, what: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) throw new CliError(`${what} expects a positive number of milliseconds, got '${text}'`);
  return value;
}

/** A positive whole number given on the command line. */
export function parseCount(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new CliError(`${what} expects a whole number from 1 up, got '${text}'`);
  return value;
}
