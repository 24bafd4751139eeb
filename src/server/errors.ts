import { JobStateError, RoutiluxError, StoreError, TimeoutError, ValidationError } from "../index.js";

/** The body of every error answer: `{ error: { code, message, path? } }`. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly path?: string };
}

/** An error with its HTTP status and a stable code, thrown by routes and turned into a JSON answer. */
export class HttpError extends RoutiluxError {
  readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 500 | 503;
  readonly code: string;
  readonly path: string | undefined;

  constructor(status: HttpError["status"], code: string, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.path = options.path;
  }
}

/**
 * What an error thrown while serving a request answers: an HttpError as it says; a
 * ValidationError 400 (bad input, naming the field); a JobStateError 409 (the job's status forbids
 * the call); another RoutiluxError 409 when it is about a job's state, else 400; a StoreError or TimeoutError 503;
 * anything else 500, with a message that does not leak internals.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ValidationError) {
    return new HttpError(400, "validation_failed", error.message, { ...(error.path === "" ? {} : { path: error.path }), cause: error });
  }
  if (error instanceof JobStateError) return new HttpError(409, "conflict", error.message, { cause: error });
  if (error instanceof StoreError) return new HttpError(503, "store_unavailable", error.message, { cause: error });
  if (error instanceof TimeoutError) return new HttpError(503, "timeout", error.message, { cause: error });
  // Other library errors are refusals of what was asked: an answer to an input the job does not
  // wait for (a conflict with its state), or a bad value (bad input).
  if (error instanceof RoutiluxError) {
    const conflict = /does not wait|is not waiting|waits for|has ended|no live process/i.test(error.message);
    return new HttpError(conflict ? 409 : 400, conflict ? "conflict" : "bad_request", error.message, { cause: error });
  }
  return new HttpError(500, "internal_error", "The server failed to handle the request; see its log", { cause: error });
}

/** The JSON body of an HttpError. */
export function errorBody(error: HttpError): ErrorBody {
  return { error: { code: error.code, message: error.message, ...(error.path === undefined ? {} : { path: error.path }) } };
}
