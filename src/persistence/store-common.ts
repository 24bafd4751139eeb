// What every JobStore implementation does the same way, whatever holds its rows.
import { RoutiluxError, showValue } from "../core/errors.js";
import type { JobState } from "../state/job-state.js";
import { restoreStoredJob } from "./commit-format.js";
import type { ClaimRequest, JobStore, JobWrite } from "./job-store.js";
import { settleWrites } from "./store-writer.js";

/**
 * Checks a duration option: `fallback` when undefined, else a finite number above 0.
 * @internal
 */
export function checkMs(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RoutiluxError(`Expected \`${name}\` to be a number of milliseconds above 0, got ${showValue(value)} (${typeof value})`);
  }
  return value;
}

/**
 * `JobStore.loadJob`: waits for this process's pending commits, then rebuilds the job from what
 * the store holds; undefined when it holds no such job.
 * @internal
 */
export async function loadStoredJob(store: JobStore, jobId: string): Promise<JobState | undefined> {
  await settleWrites(store);
  const stored = await store.readJob(jobId);
  return stored === undefined ? undefined : restoreStoredJob(stored, String(store));
}

/**
 * Whether `request` may take a running job's lease: it is free, expired, void (its owner is
 * gone) or already the requester's.
 * @internal
 */
export function leaseIsFree(leaseOwner: string | null, leaseUntilMs: number | null, request: ClaimRequest): boolean {
  return leaseOwner === null || leaseOwner === request.owner || leaseUntilMs === null || leaseUntilMs < request.nowMs ||
    request.isOwnerGone?.(leaseOwner) === true;
}

/**
 * The sequence number a write leaves the job at: its last commit's, else its snapshot's;
 * undefined for a write that carries nothing.
 * @internal
 */
export function lastSeqOf(write: JobWrite): number | undefined {
  const commits = write.commits;
  return commits.length > 0 ? commits[commits.length - 1]!.seq : write.snapshot?.seq;
}
