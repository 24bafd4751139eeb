import { ErrorHandler, ErrorStrategy } from "../core/error-handler.js";

const STOP = new ErrorHandler();

/** What a failed activation leads to. */
export type FailureDecision =
  | { readonly kind: "continue" }
  | { readonly kind: "skip" }
  | { readonly kind: "retry"; readonly delayMs: number }
  | { readonly kind: "stop" };

const CONTINUE: FailureDecision = { kind: "continue" };
const SKIP: FailureDecision = { kind: "skip" };
const STOPPED: FailureDecision = { kind: "stop" };

/** The handler that applies: the routine's, else the flow's, else STOP. @internal */
export function handlerFor(routineHandler: ErrorHandler | undefined, flowHandler: ErrorHandler | undefined): ErrorHandler {
  return routineHandler ?? flowHandler ?? STOP;
}

/**
 * The error policy, as a pure decision: what a failure of attempt `attempt` (1-based) under
 * `handler` leads to. RETRY retries a retryable error while attempts remain, after
 * `retryDelayMs * retryBackoff ** (attempt - 1)`; otherwise it ends as STOP would.
 * @internal
 */
export function decideFailure(handler: ErrorHandler, error: unknown, attempt: number): FailureDecision {
  switch (handler.strategy) {
    case ErrorStrategy.CONTINUE:
      return CONTINUE;
    case ErrorStrategy.SKIP:
      return SKIP;
    case ErrorStrategy.RETRY:
      if (attempt <= handler.maxRetries && handler.isRetryable(error)) return { kind: "retry", delayMs: handler.delayAfter(attempt) };
      return STOPPED;
    default:
      return STOPPED;
  }
}
