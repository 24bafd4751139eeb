import type { JobStatus } from "../state/job-snapshot.js";
import type { JobState } from "../state/job-state.js";

/** A job as a store lists it: who it is, where it stands, when it began and last changed. */
export interface JobSummary {
  jobId: string;
  flowId: string;
  status: JobStatus;
  createdAt: Date;
  updatedAt: Date;
}

/** Which jobs {@link JobStore.listJobs} returns; every given field must match. */
export interface JobFilter {
  flowId?: string;
  status?: JobStatus;
}

/** One commit of a job's write-ahead log: its sequence number and its change set as JSON text. */
export interface StoredCommit {
  readonly seq: number;
  readonly data: string;
}

/**
 * What a store holds for one job: its latest snapshot (a full-state commit, JSON text) and the
 * commits after it, in order. Loading the job replays them onto the snapshot.
 */
export interface StoredJob {
  readonly jobId: string;
  readonly flowId: string;
  readonly status: JobStatus;
  readonly snapshot: string;
  /** The snapshot covers every commit up to and including this sequence number. */
  readonly snapshotSeq: number;
  /** The commits after the snapshot, in increasing `seq`. */
  readonly commits: readonly StoredCommit[];
}

/**
 * The part of one group commit that concerns one job. With a `snapshot`, the job's older log is
 * dropped and its state restarts from the snapshot; without one, the commits are appended.
 */
export interface JobWrite {
  readonly jobId: string;
  readonly flowId: string;
  /** The job's status after the last commit of this write. */
  readonly status: JobStatus;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly snapshot?: StoredCommit | undefined;
  /** With a snapshot: whether the store may hold older commits of the job, to drop (false for a job new to the store). */
  readonly dropsLog?: boolean;
  /** Commits after the snapshot (or after what the store holds), in increasing `seq`. */
  readonly commits: readonly StoredCommit[];
}

/**
 * One group commit: every job's part is written in one transaction, or nothing is.
 *
 * Leases: a running job's row is leased to `owner` until `leaseUntilMs`; a job that is paused or
 * has ended is released. A job leased to another owner whose lease has not expired, a job the
 * store holds as completed, failed or cancelled, and a job without a row (deleted) unless the
 * write carries a snapshot, are *fenced*: nothing is written for them, and the result lists them.
 */
export interface CommitBatch {
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseUntilMs: number;
  readonly jobs: readonly JobWrite[];
}

/** What a group commit did not write. */
export interface CommitResult {
  /** Jobs fenced off (see {@link CommitBatch}): nothing was written for them. */
  readonly fenced: readonly string[];
}

/** A request to lease the running jobs of a flow, to carry them on (see `Flow.recover`). */
export interface ClaimRequest {
  readonly flowId: string;
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseUntilMs: number;
  /** Jobs the caller runs already, never claimed (a lease held by `owner` itself is otherwise taken over). */
  readonly exclude?: ReadonlySet<string>;
  /** True when a lease holder is known to be gone (a process of this host that has exited): its lease is void. */
  readonly isOwnerGone?: (owner: string) => boolean;
}

/**
 * Where a flow's jobs are persisted. Users call {@link JobStore.loadJob}, {@link JobStore.listJobs},
 * {@link JobStore.deleteJob} and {@link JobStore.close}; the engine calls the rest through its
 * journal, which groups the commits of many tasks and jobs into one {@link JobStore.commit}.
 *
 * The model is a write-ahead log: after each task, one commit (a JSON change set keyed by job and
 * sequence number) is appended; now and then a snapshot of the whole job replaces the log before
 * it, so loading a job costs O(snapshot + recent log). Every store passes the shared conformance
 * suite `describeJobStore` (test/persistence/job-store-conformance.ts).
 *
 * A store's methods reject with a `StoreError` when the store is closed or its storage fails.
 */
export interface JobStore {
  /** The job as last committed, ready for `flow.resume` when paused; undefined if the store has no such job. */
  loadJob(jobId: string): Promise<JobState | undefined>;
  /** Summaries of the stored jobs that match `filter`, oldest first. */
  listJobs(filter?: JobFilter): Promise<JobSummary[]>;
  /** Removes a job and its log. Removing an unknown job does nothing. */
  deleteJob(jobId: string): Promise<void>;
  /** Writes what is still buffered, releases this process's leases, and closes the store. Idempotent. */
  close(): Promise<void>;

  /** Names the store in messages, such as `SQLite job store '/data/jobs.db'`. */
  toString(): string;

  /** How long a lease lasts, in milliseconds; a process renews its leases at a third of it. */
  readonly leaseMs: number;
  /** Writes one group commit in one transaction (see {@link CommitBatch}). */
  commit(batch: CommitBatch): Promise<CommitResult>;
  /** The job's snapshot and the commits after it, or undefined. */
  readJob(jobId: string): Promise<StoredJob | undefined>;
  /**
   * Leases, in one transaction, every job of `flowId` held as "running" whose lease is free,
   * expired, void (`isOwnerGone`) or held by the caller itself, except `exclude`; returns them.
   */
  claimJobs(request: ClaimRequest): Promise<StoredJob[]>;
  /** Extends every lease `owner` holds on a running job to `leaseUntilMs`. */
  renewLeases(owner: string, leaseUntilMs: number): Promise<void>;
  /** Releases the leases `owner` holds (only those of `jobIds`, when given). */
  releaseLeases(owner: string, jobIds?: readonly string[]): Promise<void>;
}

/** Statuses after which a job never changes again. @internal */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(["completed", "failed", "cancelled"]);

/** The default lease: a process that stops renewing loses its jobs after this long. @internal */
export const DEFAULT_LEASE_MS = 15_000;
