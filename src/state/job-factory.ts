import type { JobSnapshot } from "./job-snapshot.js";
import { JobStateCore } from "./job-state.js";

let make: () => JobStateCore = () => new JobStateCore();

/**
 * Sets the class whose instances stores hand out (`loadJob`, recovery): the top layer registers
 * the public `JobState`, so lower layers build jobs without knowing it.
 * @internal
 */
export function registerJobClass(create: () => JobStateCore): void {
  make = create;
}

/** A job rebuilt from a validated snapshot, as an instance of the registered class. @internal */
export function jobFromSnapshot(snapshot: JobSnapshot): JobStateCore {
  const job = make();
  job.restoreSnapshot(snapshot);
  return job;
}
