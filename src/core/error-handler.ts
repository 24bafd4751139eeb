import { RoutiluxError } from "./errors.js";

/** What to do when a slot handler throws. */
export const ErrorStrategy = {
  /** Fail the routine and the job; drop the job's queued tasks. */
  STOP: "stop",
  /** Mark the routine "error_continued"; the job goes on. */
  CONTINUE: "continue",
  /** Run the same activation again after a delay; the last failure ends as STOP. */
  RETRY: "retry",
  /** Mark the routine "skipped"; the job goes on. */
  SKIP: "skip",
} as const;
/** One of the {@link ErrorStrategy} values. */
export type ErrorStrategy = (typeof ErrorStrategy)[keyof typeof ErrorStrategy];

const strategies = new Set<string>(Object.values(ErrorStrategy));

/** Which errors a RETRY handler retries: a list of error classes, or a predicate. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RetryablePredicate = Array<new (...args: any[]) => Error> | ((error: unknown) => boolean);

/** Options of {@link ErrorHandler}. */
export interface ErrorHandlerOptions {
  /** Default "stop". */
  strategy?: ErrorStrategy;
  /** Retries after the first attempt (RETRY only). Default 3. */
  maxRetries?: number;
  /** Delay before the first retry. Default 100 ms. */
  retryDelayMs?: number;
  /** Each retry waits `retryDelayMs * retryBackoff ** (attempt - 1)`. Default 2. */
  retryBackoff?: number;
  /** Which errors to retry; default every error. */
  retryable?: RetryablePredicate;
  /** Marks the routine as critical: its failure after retries fails the job. Recorded in error records. */
  isCritical?: boolean;
}

function describeValue(value: unknown): string {
  return `\`${String(value)}\` (${typeof value})`;
}

function checkNumber(name: string, value: unknown, min: number, integer: boolean): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < min || (integer && !Number.isInteger(value))) {
    const kind = integer ? "an integer" : "a number";
    throw new RoutiluxError(`Expected \`${name}\` to be ${kind} from ${min} and up, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Decides what happens when a slot handler fails. Set one on a routine
 * (`routine.setErrorHandler`) or on a flow (`flow.setErrorHandler`); the routine's wins.
 *
 * @example
 * ```ts
 * routine.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 200 }));
 * ```
 */
export class ErrorHandler {
  /** What a failure leads to; see {@link ErrorStrategy}. */
  readonly strategy: ErrorStrategy;
  /** Retries after the first attempt (RETRY only). */
  readonly maxRetries: number;
  /** The delay before the first retry, in milliseconds. */
  readonly retryDelayMs: number;
  /** The factor by which each further retry's delay grows. */
  readonly retryBackoff: number;
  /** Whether the routine is critical: its failure after the retries fails the job. */
  readonly isCritical: boolean;
  readonly #retryable: RetryablePredicate | undefined;

  constructor(options: ErrorHandlerOptions = {}) {
    const strategy = options.strategy ?? ErrorStrategy.STOP;
    if (!strategies.has(strategy)) {
      throw new RoutiluxError(
        `Expected \`strategy\` to be one of ${[...strategies].join(", ")}, got ${describeValue(strategy)}`,
      );
    }
    this.strategy = strategy;
    this.maxRetries = checkNumber("maxRetries", options.maxRetries ?? 3, 0, true);
    this.retryDelayMs = checkNumber("retryDelayMs", options.retryDelayMs ?? 100, 0, false);
    this.retryBackoff = checkNumber("retryBackoff", options.retryBackoff ?? 2, 1, false);
    this.isCritical = options.isCritical ?? false;
    const retryable = options.retryable;
    if (retryable !== undefined && typeof retryable !== "function" && !Array.isArray(retryable)) {
      throw new RoutiluxError(
        `Expected \`retryable\` to be an array of error classes or a predicate, got ${describeValue(retryable)}`,
      );
    }
    this.#retryable = retryable;
  }

  /** What was given as `retryable` (a copy of a list), or undefined: every error is retryable. */
  get retryable(): RetryablePredicate | undefined {
    const retryable = this.#retryable;
    return Array.isArray(retryable) ? [...retryable] : retryable;
  }

  /** Whether `error` may be retried. */
  isRetryable(error: unknown): boolean {
    const retryable = this.#retryable;
    if (retryable === undefined) return true;
    if (Array.isArray(retryable)) return retryable.some((cls) => error instanceof cls);
    try {
      return retryable(error);
    } catch {
      return false;
    }
  }

  /** The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed. */
  delayAfter(attempt: number): number {
    return this.retryDelayMs * this.retryBackoff ** (attempt - 1);
  }
}
