// What every JobStore implementation does the same way, whatever holds its rows.
import type { JobState } from "../api/job-state.js";
import { RoutiluxError, showValue } from "../core/errors.js";
import { JOB_STATUSES, type JobStatus } from "../state/job-snapshot.js";
import { restoreStoredJob } from "./commit-replay.js";
import {
  TERMINAL_STATUSES,
  type ClaimRequest,
  type CommitBatch,
  type FencedWrite,
  type JobFilter,
  type JobPage,
  type JobStore,
  type JobSummary,
  type JobWrite,
  type MetadataValue,
  type StoredCommit,
  type StoredJob,
} from "./job-store.js";
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
  return stored === undefined ? undefined : (restoreStoredJob(stored, String(store)) as JobState);
}

/**
 * Whether a lease stops someone else from taking the job: held by another owner, not expired,
 * and not known to be void (its owner gone).
 * @internal
 */
export function leaseIsLive(
  leaseOwner: string | null,
  leaseUntilMs: number | null,
  me: string,
  nowMs: number,
  isOwnerGone: ((owner: string) => boolean) | undefined,
): boolean {
  return leaseOwner !== null && leaseOwner !== me && leaseUntilMs !== null && leaseUntilMs >= nowMs && isOwnerGone?.(leaseOwner) !== true;
}

/** Whether `request` may take a running job's lease: it is free, expired, void or already the requester's. @internal */
export function leaseIsFree(leaseOwner: string | null, leaseUntilMs: number | null, request: ClaimRequest): boolean {
  return !leaseIsLive(leaseOwner, leaseUntilMs, request.owner, request.nowMs, request.isOwnerGone);
}

/** What a store's row says about a job, for the fencing checks. @internal */
export interface FenceRow {
  readonly status: JobStatus;
  readonly lastSeq: number;
  readonly epoch: number;
  readonly leaseOwner: string | null;
  readonly leaseUntilMs: number | null;
}

/**
 * The fencing checks of one job's part of a group commit, the same in every store: undefined
 * when it may be written, else why not.
 * @internal
 */
export function fenceOf(row: FenceRow | undefined, write: JobWrite, batch: CommitBatch): FencedWrite | undefined {
  const jobId = write.jobId;
  if (row === undefined) {
    return write.acquire === true && write.previousSeq === 0 && write.snapshot !== undefined ? undefined : { jobId, reason: "missing" };
  }
  if (write.acquire === true && write.previousSeq === 0) return { jobId, reason: "exists", storedSeq: row.lastSeq };
  if (TERMINAL_STATUSES.has(row.status)) return { jobId, reason: "ended", storedSeq: row.lastSeq };
  if (write.acquire === true) {
    if (row.lastSeq !== write.previousSeq) return { jobId, reason: "revision", storedSeq: row.lastSeq };
    if (leaseIsLive(row.leaseOwner, row.leaseUntilMs, batch.owner, batch.nowMs, batch.isOwnerGone)) {
      return { jobId, reason: "leased", leaseOwner: row.leaseOwner! };
    }
    return undefined;
  }
  if (row.epoch !== write.epoch) return { jobId, reason: "epoch", storedSeq: row.lastSeq };
  if (row.lastSeq !== write.previousSeq) return { jobId, reason: "revision", storedSeq: row.lastSeq };
  return undefined;
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

/**
 * The `epochs` of a commit result, keyed by job id: an object without prototype, so that adding
 * an id neither walks a chain of hidden classes (one per new key: thousands of microseconds per
 * thousand jobs) nor treats an id such as `__proto__` specially.
 * @internal
 */
export function epochsByJob(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

const FILTER_KEYS: readonly string[] = ["flowId", "status", "metadata", "limit", "cursor"];

/** A list filter, checked: bad values are refused naming the field. @internal */
export interface CheckedFilter {
  flowId: string | undefined;
  statuses: JobStatus[] | undefined;
  metadata: Array<[string, MetadataValue]>;
  limit: number | undefined;
  /** Where to continue: the position (store-specific numbers) after which to list. */
  after: [number, number] | undefined;
}

/** Checks a {@link JobFilter}. @internal */
export function checkFilter(filter: JobFilter, where: string): CheckedFilter {
  if (typeof filter !== "object" || filter === null) throw new RoutiluxError(`Expected a job filter object for ${where}, got ${showValue(filter)}`);
  for (const key of Object.keys(filter)) {
    if (!FILTER_KEYS.includes(key)) throw new RoutiluxError(`Unknown job filter field '${key}' for ${where}; the fields are: ${FILTER_KEYS.join(", ")}`);
  }
  const { flowId, status, metadata, limit, cursor } = filter;
  if (flowId !== undefined && typeof flowId !== "string") {
    throw new RoutiluxError(`Expected \`flowId\` of a job filter to be a string, got ${showValue(flowId)}`);
  }
  const statuses: JobStatus[] | undefined = status === undefined ? undefined : typeof status === "string" ? [status] : [...status];
  for (const s of statuses ?? []) {
    if (!JOB_STATUSES.includes(s)) throw new RoutiluxError(`Unknown job status ${showValue(s)} in a job filter; the statuses are: ${JOB_STATUSES.join(", ")}`);
  }
  const entries: Array<[string, MetadataValue]> = [];
  if (metadata !== undefined) {
    if (typeof metadata !== "object" || metadata === null) throw new RoutiluxError(`Expected \`metadata\` of a job filter to be an object, got ${showValue(metadata)}`);
    for (const [key, value] of Object.entries(metadata)) {
      if (value !== null && typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
        throw new RoutiluxError(`Metadata filter '${key}' must be a string, number, boolean or null, got ${showValue(value)}`);
      }
      entries.push([key, value]);
    }
  }
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1)) {
    throw new RoutiluxError(`Expected \`limit\` of a job filter to be an integer from 1 and up, got ${showValue(limit)}`);
  }
  return { flowId, statuses, metadata: entries, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) };
}

/** An opaque cursor for a position `[createdAtMs, order]`. @internal */
export function encodeCursor(createdAtMs: number, order: number): string {
  return Buffer.from(JSON.stringify([createdAtMs, order])).toString("base64url");
}

function decodeCursor(cursor: unknown): [number, number] {
  if (typeof cursor === "string") {
    try {
      const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
      if (Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === "number" && Number.isFinite(n))) return value as [number, number];
    } catch {
      // reported below
    }
  }
  throw new RoutiluxError(`Invalid job list cursor ${showValue(cursor)}: pass the \`nextCursor\` of a page as it was given`);
}

/** Builds a page from rows already filtered and ordered (at most limit + 1 of them). @internal */
export function pageOf<R>(
  rows: readonly R[],
  limit: number | undefined,
  summary: (row: R) => JobSummary,
  position: (row: R) => [number, number],
): JobPage {
  const more = limit !== undefined && rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const jobs = kept.map(summary);
  const last = kept.at(-1);
  const nextCursor = more && last !== undefined ? encodeCursor(...position(last)) : undefined;
  return Object.assign(jobs, { nextCursor });
}

/** A job summary from stored JSON text columns. @internal */
export function summaryOf(fields: {
  jobId: string;
  flowId: string;
  status: JobStatus;
  createdAtMs: number;
  updatedAtMs: number;
  metadata: string | null;
  revision: number;
  waitingFor: string | null;
}): JobSummary {
  return {
    jobId: fields.jobId,
    flowId: fields.flowId,
    status: fields.status,
    createdAt: new Date(fields.createdAtMs),
    updatedAt: new Date(fields.updatedAtMs),
    metadata: fields.metadata === null ? {} : (JSON.parse(fields.metadata) as Record<string, unknown>),
    revision: fields.revision,
    waitingFor: fields.waitingFor === null ? [] : (JSON.parse(fields.waitingFor) as string[]),
  };
}

/** A job summary from a jobs-table row and its metadata as JSON text, the same for every SQL store. @internal */
export function summaryOfRow(row: JobRowColumns, metadata: string | null): JobSummary {
  return summaryOf({
    jobId: row.job_id,
    flowId: row.flow_id,
    status: row.status,
    createdAtMs: row.created_at,
    updatedAtMs: row.updated_at,
    metadata,
    revision: row.last_seq,
    waitingFor: row.waiting,
  });
}

/** A job's row and its log rows as a {@link StoredJob}, the same for every SQL store. @internal */
export function storedJobOf(row: JobRowColumns, commits: StoredCommit[]): StoredJob {
  return {
    jobId: row.job_id,
    flowId: row.flow_id,
    status: row.status,
    snapshot: row.snapshot,
    snapshotSeq: row.snapshot_seq,
    commits,
    epoch: row.epoch,
    leaseOwner: row.lease_owner,
    leaseUntilMs: row.lease_until,
  };
}

/**
 * The columns of a jobs-table row every SQL store reads (SQLite, PostgreSQL); each adds how it
 * keeps `metadata` and its own ordering column. @internal
 */
export interface JobRowColumns {
  job_id: string;
  flow_id: string;
  status: JobStatus;
  created_at: number;
  updated_at: number;
  snapshot: string;
  snapshot_seq: number;
  last_seq: number;
  lease_owner: string | null;
  lease_until: number | null;
  epoch: number;
  waiting: string | null;
}
