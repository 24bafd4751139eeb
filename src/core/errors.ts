/**
 * The library's error family. Every error thrown by routilux is a {@link RoutiluxError}; its
 * message says what was expected, what was received, which id, and how to fix it.
 */
export class RoutiluxError extends Error {
  /**
   * @param message - what was wrong, naming the id or value at fault
   * @param options - `cause`: the underlying error, if any
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RoutiluxError";
  }
}

/** A flow or routine definition is wrong: an unknown or duplicate id, event or slot, or a bad option. */
export class FlowDefinitionError extends RoutiluxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FlowDefinitionError";
  }
}

/** A document (JobStateDocument, FlowDocument) is malformed, or state cannot be written as JSON. */
export class SerializationError extends RoutiluxError {
  /** The path of the first bad field, as `a.b[2].c` (empty for the document itself). */
  readonly path: string;

  constructor(message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options);
    this.name = "SerializationError";
    this.path = options?.path ?? "";
  }
}

/** An operation does not fit the job's current state (resume a completed job, pause another flow's job). */
export class JobStateError extends RoutiluxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "JobStateError";
  }
}

/** A job store failed: a corrupt, locked or newer database, or a failed commit. */
export class StoreError extends RoutiluxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** A wait ran out of time (`job.result({ timeoutMs })`), or a job ran past its time limit (the `ctx.signal` reason). */
export class TimeoutError extends RoutiluxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/** Data does not fit a slot's schema (entry params, an answer, a request body); `path` names the field. */
export class ValidationError extends RoutiluxError {
  /** The path of the field at fault, as `a.b[2].c` (empty for the value itself). */
  readonly path: string;

  constructor(message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options);
    this.name = "ValidationError";
    this.path = options?.path ?? "";
  }
}

/** Why a running handler is told to stop (`ctx.signal.reason`): its job was cancelled, or its flow shut down. */
export class CancelledError extends RoutiluxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CancelledError";
  }
}

/** Levenshtein distance, small strings only (ids and names). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/**
 * Ends a "not found" message: lists the valid names and suggests the closest one.
 * @internal
 */
export function listChoices(received: string, valid: Iterable<string>): string {
  const names = [...valid];
  if (names.length === 0) return "there are none";
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = distance(received.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = name;
    }
  }
  const hint = best !== undefined && bestDistance <= Math.max(2, Math.floor(received.length / 3))
    ? ` Did you mean '${best}'?`
    : "";
  return `${names.join(", ")}.${hint}`;
}

/**
 * Describes a thrown value for records and messages: its message and type name.
 * Thrown non-Error values (`throw "x"`, `throw undefined`) are described too.
 * @internal
 */
export function describeError(error: unknown): { message: string; type: string } {
  try {
    if (error instanceof Error) {
      // A subclass that does not set `name` is still named by its class.
      const type = error.name === "Error" || error.name === "" ? error.constructor.name || "Error" : error.name;
      return { message: error.message === "" ? `${type} (no message)` : error.message, type };
    }
    if (error === undefined) return { message: "undefined was thrown", type: "undefined" };
    if (error === null) return { message: "null was thrown", type: "null" };
    if (typeof error === "string") return { message: error, type: "string" };
    return { message: showValue(error), type: typeof error };
  } catch {
    return { message: "a value that cannot be inspected was thrown", type: "unknown" };
  }
}

/**
 * A received value as a message shows it: strings quoted, objects as JSON, with its type.
 * @internal
 */
export function showValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return String(value);
  if (typeof value === "function") return `a function ${value.name}`.trimEnd();
  if (typeof value === "bigint" || typeof value === "symbol" || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
