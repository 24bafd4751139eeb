// The result of a job that runs in another process (handed to Workers): followed in the store.
import { outsideContext } from "../core/context.js";
import { JobStateError, TimeoutError } from "../core/errors.js";
import type { JobStore } from "../persistence/job-store.js";
import type { JobState } from "./job-state.js";

const followed = new WeakMap<object, JobStore>();

/** Notes that `job` runs elsewhere and that its result is to be read from `store`. @internal */
export function followInStore(job: JobState, store: JobStore): void {
  followed.set(job, store);
}

/** The store a job handed to Workers is followed in, if it was. @internal */
export function storeFollowing(job: JobState): JobStore | undefined {
  return followed.get(job);
}

const RESTS = new Set(["completed", "failed", "cancelled", "paused"]);

/**
 * Waits until the store holds the job at rest (completed, failed, cancelled or paused) and loads
 * it; polls, first often, then every half second. Rejects with a TimeoutError after `timeoutMs`.
 * @internal
 */
export async function restInStore(store: JobStore, jobId: string, timeoutMs: number | undefined): Promise<JobState> {
  const started = Date.now();
  let delay = 10;
  for (;;) {
    const stored = await store.readJob(jobId);
    if (stored === undefined) throw new JobStateError(`Job '${jobId}' is no longer in ${String(store)} (it was deleted)`);
    if (RESTS.has(stored.status)) {
      const job = await store.loadJob(jobId);
      if (job !== undefined && RESTS.has(job.status)) return job;
    }
    const left = timeoutMs === undefined ? Infinity : timeoutMs - (Date.now() - started);
    if (left <= 0) throw new TimeoutError(`Job '${jobId}' did not rest within ${timeoutMs} ms; it is ${stored.status} in ${String(store)} and runs on`);
    await new Promise((resolve) => outsideContext(() => setTimeout(resolve, Math.min(delay, left))));
    delay = Math.min(500, delay * 2);
  }
}
