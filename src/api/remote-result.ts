// The result of a job that runs in another process (handed to Workers): followed in the store.
import { outsideContext } from "../core/context.js";
import { JobStateError, StoreError, TimeoutError } from "../core/errors.js";
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
  let failingSince: number | undefined;
  for (;;) {
    let stored: Awaited<ReturnType<JobStore["readJob"]>>;
    let rested: JobState | undefined;
    try {
      stored = await store.readJob(jobId);
      if (stored === undefined) throw new JobStateError(`Job '${jobId}' is no longer in ${String(store)} (it was deleted)`);
      if (RESTS.has(stored.status)) {
        const job = await store.loadJob(jobId);
        if (job !== undefined && RESTS.has(job.status)) rested = job;
      }
      failingSince = undefined;
    } catch (error) {
      // A store that cannot be read for a moment (a dropped connection, a restart) is read again;
      // only a failure that lasts is the caller's.
      if (!(error instanceof StoreError)) throw error;
      failingSince ??= Date.now();
      if (Date.now() - failingSince >= READ_FAILURES_FOR_MS) throw error;
      stored = undefined;
    }
    if (rested !== undefined) return rested;
    const left = timeoutMs === undefined ? Infinity : timeoutMs - (Date.now() - started);
    if (left <= 0) {
      throw new TimeoutError(`Job '${jobId}' did not rest within ${timeoutMs} ms; it is ${stored?.status ?? "unreadable"} in ${String(store)} and runs on`);
    }
    await new Promise((resolve) => outsideContext(() => setTimeout(resolve, Math.min(delay, left))));
    delay = Math.min(500, delay * 2);
  }
}

/** How long reading a followed job may keep failing before `result()` gives up with the StoreError. */
const READ_FAILURES_FOR_MS = 30_000;
