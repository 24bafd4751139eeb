import { SerializationError } from "../core/errors.js";

/** At most this many problems are located and listed; the message counts the rest. */
const MAX_LISTED_ISSUES = 100;

/** A path into a flow spec: keys and list indexes. */
export type FlowSpecPath = ReadonlyArray<string | number>;

/** A place in a flow file's text: 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Maps paths of a parsed flow file to where they are written. */
export interface FlowSpecPositions {
  /**
   * Where the value at `path` (or its key, with `part: "key"`) is written; for a path that is not
   * in the file, where its closest written ancestor is. Undefined when nothing is known.
   */
  locate(path: FlowSpecPath, part?: "key" | "value"): SourcePosition | undefined;
}

/** Where a flow spec came from, so that errors can name the file, line and column. */
export interface FlowSpecSource {
  /** Named at the start of each problem's line. */
  fileName?: string | undefined;
  /** Gives each problem its line and column. */
  positions?: FlowSpecPositions | undefined;
}

/** One problem of a flow file: its path (`routines.fetch.class`, `connections[1].from`), what is wrong and where. */
export interface FlowSpecIssue {
  /** The dotted path of the value at fault; empty for the file as a whole. */
  path: string;
  /** What is wrong, what was expected and received, and the fix where there is one. */
  message: string;
  /** 1-based line in the file, when the spec was parsed from text. */
  line?: number;
  /** 1-based column in the file, when the spec was parsed from text. */
  column?: number;
}

/** @internal A problem before it is located: path as a list, or a known position. */
export interface SpecProblem {
  path: FlowSpecPath;
  message: string;
  /** Point at the key rather than the value (an unknown field, a bad id). */
  part?: "key" | "value";
  position?: SourcePosition | undefined;
}

/** Formats a spec path as `routines.fetch.class`, `connections[1].from`, `routines["a b"]`. */
export function formatSpecPath(path: FlowSpecPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/**
 * A flow file or flow spec is wrong. `issues` lists every problem found (up to 100), each with
 * its path and, for a parsed file, its line and column; the message has one line per problem,
 * as `file:line:col: path: message`.
 */
export class FlowSpecError extends SerializationError {
  /** Every problem found, in file order where known (at most 100; see `issueCount`). */
  readonly issues: readonly FlowSpecIssue[];
  /** How many problems were found, including those beyond the listed 100. */
  readonly issueCount: number;
  /** The file the spec was read from, if any. */
  readonly fileName: string | undefined;

  /**
   * @param issues - the problems, at least one
   * @param options - `fileName` for the message; `issueCount` if more were found than listed; `cause`
   */
  constructor(
    issues: readonly FlowSpecIssue[],
    options: { fileName?: string | undefined; issueCount?: number; summary?: string; cause?: unknown } = {},
  ) {
    const count = Math.max(options.issueCount ?? issues.length, issues.length);
    const where = options.fileName === undefined ? "flow spec" : `flow file '${options.fileName}'`;
    const head = options.summary ?? `Invalid ${where}`;
    const lines = issues.map((issue) => {
      const location = [options.fileName, issue.line, issue.column].filter((part) => part !== undefined).join(":");
      return [location, issue.path, issue.message].filter((part) => part !== "").join(": ");
    });
    if (count > issues.length) lines.push(`... and ${count - issues.length} more`);
    super(`${head}: ${count === 1 ? "1 problem" : `${count} problems`}\n${lines.join("\n")}`, { path: issues[0]?.path ?? "", cause: options.cause });
    this.name = "FlowSpecError";
    this.issues = issues;
    this.issueCount = count;
    this.fileName = options.fileName;
  }
}

/** @internal Locates problems in their source and gathers them in one {@link FlowSpecError}. */
export function specError(
  problems: readonly SpecProblem[],
  source: FlowSpecSource = {},
  options: { summary?: string; cause?: unknown } = {},
): FlowSpecError {
  const issues = problems.slice(0, MAX_LISTED_ISSUES).map((problem): FlowSpecIssue => {
    const at = problem.position ?? source.positions?.locate(problem.path, problem.part);
    const issue: FlowSpecIssue = { path: formatSpecPath(problem.path), message: problem.message };
    if (at !== undefined) {
      issue.line = at.line;
      issue.column = at.column;
    }
    return issue;
  });
  // File order; problems without a position (none, or a spec given as an object) keep theirs, last.
  issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  return new FlowSpecError(issues, { fileName: source.fileName, issueCount: problems.length, ...options });
}
