import { JobStateError, RoutiluxError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { kJobData, type JobData } from "./job-data.js";

/** Refuses a change to a job whose stored state is final (it was persisted and has ended). @internal */
export function checkWritable(job: { readonly jobId: string; readonly status: string; readonly [kJobData]: JobData }): void {
  if (job[kJobData].final) {
    throw new JobStateError(`Job '${job.jobId}' has ended (${job.status}) and its stored state is final; it can no longer change`);
  }
}

/** A shared-data key as given by user code: a string other than `__proto__`. @internal */
export function checkKey(key: unknown, jobId: string): string {
  if (typeof key !== "string") throw new RoutiluxError(`Expected a string shared-data key for job '${jobId}', got ${typeof key}`);
  if (key === "__proto__") {
    throw new RoutiluxError(`Shared data key '__proto__' of job '${jobId}' is reserved: it would replace the object's prototype; use another key`);
  }
  return key;
}

/** A value that must be a plain object (metadata, a checkpoint, a routine state); `what` names it in the error. @internal */
export function checkPayload(value: unknown, what: string): Payload {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RoutiluxError(`Expected ${what} to be a plain object, got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`);
  }
  return value as Payload;
}
