import type { JobStateCore } from "../state/job-state.js";
import { restoreStoredJob } from "./commit-replay.js";
import type { JobStore } from "./job-store.js";
import { isOwnerGone } from "./lease.js";
import { writerFor } from "./store-writer.js";

/**
 * Takes the jobs of `flowId` that `store` holds as "running" and that no live process runs
 * (their lease is free, expired, or held by a process of this host that has exited), raising
 * their fencing epoch, and, with `includePaused`, the paused ones; rebuilds each at its last
 * committed task and hands them to `adopt`, which carries them on. If any job cannot be rebuilt
 * or adopted, none is, their leases are released, and the error is thrown. With `limit`, takes at
 * most that many running jobs, those waiting longest first (a Worker's free places).
 * @internal
 */
export async function recoverJobs(
  store: JobStore,
  flowId: string,
  includePaused: boolean,
  adopt: (jobs: readonly JobStateCore[]) => void,
  limit?: number,
): Promise<JobStateCore[]> {
  const writer = writerFor(store);
  const nowMs = Date.now();
  const exclude = writer.heldJobIds();
  const leaseUntilMs = nowMs + store.leaseMs;
  const request = { flowId, owner: writer.owner, nowMs, leaseUntilMs, exclude, isOwnerGone, includePaused };
  const stored = await store.claimJobs(limit === undefined ? request : { ...request, limit });
  if (stored.length === 0) return [];
  try {
    const where = String(store);
    const jobs = stored.map((s) => restoreStoredJob(s, where));
    for (const s of stored) writer.claimed(s.jobId, s.epoch, leaseUntilMs);
    adopt(jobs);
    return jobs;
  } catch (error) {
    await store.releaseLeases(writer.owner, stored.map((s) => s.jobId)).catch(() => undefined);
    throw error;
  }
}
