import type { JobState } from "../api/job-state.js";
import type { JobStatus } from "../state/job-snapshot.js";
import type { JobCommand } from "../state/journal.js";

/** A job as a store lists it: who it is, where it stands, when it began and last changed. */
export interface JobSummary {
  jobId: string;
  flowId: string;
  status: JobStatus;
  createdAt: Date;
  updatedAt: Date;
  /** The job's metadata (given to `execute`). */
  metadata: Record<string, unknown>;
  /** The job's revision: the sequence number of its last commit. */
  revision: number;
  /** The inputs a paused job waits for, as `routineId.slotName` (empty when none). */
  waitingFor: string[];
}

/** A value a metadata filter compares a top-level metadata key with. */
export type MetadataValue = string | number | boolean | null;

/** Which jobs {@link JobStore.listJobs} returns, and how many; every given field must match. */
export interface JobFilter {
  flowId?: string;
  /** One status, or any of several. */
  status?: JobStatus | readonly JobStatus[];
  /** Top-level metadata keys and the values they must equal. */
  metadata?: Readonly<Record<string, MetadataValue>>;
  /** At most this many jobs (a positive integer); `nextCursor` then continues the list. */
  limit?: number;
  /** Where to continue: the `nextCursor` of the page before. */
  cursor?: string;
}

/** A page of jobs, oldest first; `nextCursor` is set when more match. */
export type JobPage = JobSummary[] & { readonly nextCursor: string | undefined };

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
  /** The fencing epoch: raised each time a process takes the job. */
  readonly epoch: number;
  /** Who holds the job's lease, and until when (epoch milliseconds); null when nobody does. */
  readonly leaseOwner: string | null;
  readonly leaseUntilMs: number | null;
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
  /** The job's metadata and the inputs it waits for, as JSON text, when they may have changed. */
  readonly metadata?: string | undefined;
  readonly waitingFor?: string | undefined;
  /** The revision the store must hold the job at (0: the store must not hold it). */
  readonly previousSeq: number;
  /** The fencing epoch the writer holds; ignored when `acquire` is set. */
  readonly epoch: number;
  /**
   * Take the job: the store must hold it at `previousSeq` (or not at all, when 0), not ended and
   * leased to no live owner; its epoch is raised and returned in {@link CommitResult.epochs}.
   */
  readonly acquire?: boolean;
  readonly snapshot?: StoredCommit | undefined;
  /** With a snapshot: whether the store may hold older commits of the job, to drop. */
  readonly dropsLog?: boolean;
  /** Commits after the snapshot (or after what the store holds), in increasing `seq`. */
  readonly commits: readonly StoredCommit[];
}

/**
 * One group commit: every job's part is checked and written in one transaction; a part that
 * fails its checks is *fenced*: nothing of it is written, and the result says why, while the
 * other parts are written. Checks: the job's epoch equals the writer's (or, to acquire, the lease
 * is free), its revision is `previousSeq`, and it has not ended. A running job's row is leased to
 * `owner` until `leaseUntilMs`; a job that is paused or has ended is released.
 */
export interface CommitBatch {
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseUntilMs: number;
  readonly jobs: readonly JobWrite[];
  /** True when a lease holder is known to be gone (a process of this host that has exited): its lease is void. */
  readonly isOwnerGone?: (owner: string) => boolean;
}

/** Why a job's part of a group commit was not written. */
export interface FencedWrite {
  readonly jobId: string;
  /**
   * "missing": the store does not hold the job (deleted); "exists": a new job's id is taken;
   * "ended": the store holds it as ended; "revision": it holds another revision (`storedSeq`);
   * "epoch": another process took the job; "leased": a live owner (`leaseOwner`) holds it.
   */
  readonly reason: "missing" | "exists" | "ended" | "revision" | "epoch" | "leased";
  readonly storedSeq?: number;
  readonly leaseOwner?: string;
}

/** What a group commit did: the parts it fenced off, and the new epochs of the jobs it acquired. */
export interface CommitResult {
  readonly fenced: readonly FencedWrite[];
  readonly epochs: Readonly<Record<string, number>>;
}

/** A request to take the jobs of a flow that no live process runs, to carry them on (`Flow.recover`). */
export interface ClaimRequest {
  readonly flowId: string;
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseUntilMs: number;
  /** Also return paused jobs (they need no lease; their epoch is returned as stored). */
  readonly includePaused?: boolean;
  /** Jobs the caller runs already, never claimed. */
  readonly exclude?: ReadonlySet<string>;
  /** True when a lease holder is known to be gone (a process of this host that has exited): its lease is void. */
  readonly isOwnerGone?: (owner: string) => boolean;
  /**
   * Take at most this many running jobs (a worker's free places), those waiting longest first;
   * default: all of them. Paused jobs returned with `includePaused` do not count.
   */
  readonly limit?: number;
}

/** A control request sent to a job through its store (see {@link JobStore.sendCommand}). */
export interface CommandRequest {
  readonly jobId: string;
  readonly kind: "pause" | "resume" | "cancel" | "answer";
  readonly args: Readonly<Record<string, unknown>>;
}

/** Where a command stands: waiting to be taken, taken by the job's holder, done, or failed (with why). */
export interface CommandState {
  readonly state: "waiting" | "taken" | "done" | "failed";
  readonly error?: string;
}

/** A lease a process believes it holds, to renew. */
export interface HeldLease {
  readonly jobId: string;
  readonly epoch: number;
}

/**
 * Where a flow's jobs are persisted. Users call {@link JobStore.loadJob}, {@link JobStore.listJobs},
 * {@link JobStore.deleteJob} and {@link JobStore.close}; the engine calls the rest through its
 * journal, which groups the commits of many tasks and jobs into one {@link JobStore.commit}.
 *
 * The model is a write-ahead log: after each task, one commit (a JSON change set keyed by job and
 * sequence number) is appended; now and then a snapshot of the whole job replaces the log before
 * it, so loading a job costs O(snapshot + recent log). A job's revision (its last sequence number)
 * and fencing epoch survive across processes: a stale copy cannot overwrite newer state, and a
 * process that lost a job can no longer write it. Every store passes the shared conformance suite
 * `describeJobStore` (test/persistence/job-store-conformance.ts).
 *
 * A store's methods reject with a `StoreError` when the store is closed or its storage fails.
 */
export interface JobStore {
  /** The job as last committed, ready for `flow.resume` when paused; undefined if the store has no such job. */
  loadJob(jobId: string): Promise<JobState | undefined>;
  /** Summaries of the stored jobs that match `filter`, oldest first, a page at a time with `limit`. */
  listJobs(filter?: JobFilter): Promise<JobPage>;
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
  /** The job's snapshot and the commits after it, with its epoch and lease, or undefined. */
  readJob(jobId: string): Promise<StoredJob | undefined>;
  /**
   * In one transaction: leases every job of `flowId` held as "running" whose lease is free,
   * expired, void or the caller's, raising its epoch; with `includePaused`, also returns paused
   * jobs (unleased). Returns them all.
   */
  claimJobs(request: ClaimRequest): Promise<StoredJob[]>;
  /** Extends the leases `owner` holds on `jobs`; returns the ids of those it no longer holds (taken, ended, deleted). */
  renewLeases(owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]): Promise<string[]>;
  /** Releases the leases `owner` holds (only those of `jobIds`, when given). */
  releaseLeases(owner: string, jobIds?: readonly string[]): Promise<void>;

  /** Queues a control request for a job, for the process that holds it; returns its id. */
  sendCommand(request: CommandRequest): Promise<number>;
  /** Takes (marks as taken by `owner`) the waiting commands of `jobIds`, oldest first. */
  takeCommands(owner: string, jobIds: readonly string[]): Promise<JobCommand[]>;
  /** Records a taken command's outcome. */
  finishCommand(id: number, outcome: { ok: boolean; error?: string }): Promise<void>;
  /** Where a command stands, or undefined for an unknown id. */
  readCommand(id: number): Promise<CommandState | undefined>;
  /** Withdraws a command nobody has taken; false when it was taken already (or is unknown). */
  withdrawCommand(id: number): Promise<boolean>;
  /**
   * Optional: calls `listener` with a flow id whenever a running job of that flow may have become
   * free to claim in this store (a job handed to workers, a lease released), from any process;
   * returns the function that stops listening. Workers poll as well, so a store without it
   * (or a missed call) only delays a claim.
   */
  watchJobs?(listener: (flowId: string) => void): () => void;
}

/** Statuses after which a job never changes again. @internal */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(["completed", "failed", "cancelled"]);

/** The default lease: a process that stops renewing loses its jobs after this long. @internal */
export const DEFAULT_LEASE_MS = 15_000;
