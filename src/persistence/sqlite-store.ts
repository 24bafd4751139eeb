import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { RoutiluxError, StoreError, describeError, showValue } from "../core/errors.js";
import { JOB_STATUSES } from "../state/job-snapshot.js";
import type { JobCommand } from "../state/journal.js";
import type { JobState } from "../api/job-state.js";
import { Checkpointer } from "./sqlite-checkpointer.js";
import { SqliteCommitter } from "./sqlite-commit.js";
import { SqliteReader } from "./sqlite-reads.js";
import { databaseFailure, openSchema } from "./sqlite-schema.js";
import {
  DEFAULT_LEASE_MS,
  type ClaimRequest,
  type CommitBatch,
  type CommandRequest,
  type CommandState,
  type CommitResult,
  type HeldLease,
  type JobFilter,
  type JobPage,
  type JobStore,
  type StoredJob,
} from "./job-store.js";
import { checkMs, loadStoredJob } from "./store-common.js";
import { closeWriter } from "./store-writer.js";

/** Options of a {@link SqliteJobStore}. */
export interface SqliteJobStoreOptions {
  /** The database file; its folder is created when missing. Default `./.routilux/jobs.db`. */
  path?: string;
  /** How long a lease on a running job lasts without renewal. Default 15,000 ms. */
  leaseMs?: number;
  /** How long to wait for another connection's lock before failing with a StoreError. Default 5,000 ms. */
  busyTimeoutMs?: number;
  /**
   * `"normal"` (default) survives the process being killed at any point (even SIGKILL); `"full"`
   * also survives the machine losing power, at the cost of an fsync per group commit.
   */
  synchronous?: "normal" | "full";
}

const DEFAULT_PATH = "./.routilux/jobs.db";

/**
 * The embedded job store: one SQLite file (better-sqlite3, WAL mode) holding each job's latest
 * snapshot in table `jobs` and its write-ahead log in table `job_log` (one JSON row per commit,
 * keyed by job id and sequence number). Group commits are single transactions, so a process
 * killed at any point (even by SIGKILL) loses no committed work.
 *
 * A database that is corrupt, locked by another connection for longer than `busyTimeoutMs`, not
 * a routilux store, or written by a newer routilux fails with a {@link StoreError} naming the
 * file: the store never starts over silently.
 *
 * @example
 * ```ts
 * const store = new SqliteJobStore({ path: "/var/lib/app/jobs.db" });
 * const flow = new Flow({ flowId: "ingest", store });
 * // ... in a new process after a crash, with the same flow definition:
 * const jobs = await flow.recover();
 * ```
 */
export class SqliteJobStore implements JobStore {
  readonly leaseMs: number;
  /** The database file, as an absolute path. */
  readonly path: string;
  readonly #db: Database.Database;
  readonly #busyTimeoutMs: number;
  #closed = false;
  readonly #commit: (batch: CommitBatch) => CommitResult;
  readonly #claim: (request: ClaimRequest) => StoredJob[];
  readonly #read: (jobId: string) => StoredJob | undefined;
  readonly #renew: (owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]) => string[];
  readonly #take: (owner: string, jobIds: readonly string[]) => JobCommand[];
  readonly #delete: (jobId: string) => void;
  readonly #releaseAll: (owner: string) => void;
  readonly #statements: ReturnType<typeof prepare>;
  readonly #reader: SqliteReader;
  readonly #checkpointer: Checkpointer;

  /** Opens (or creates) the store; throws a StoreError naming the file if it cannot be used. */
  constructor(options: SqliteJobStoreOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new RoutiluxError(`Expected SqliteJobStore options to be an object, got ${showValue(options)}`);
    }
    if (options.path !== undefined && (typeof options.path !== "string" || options.path.length === 0)) {
      throw new RoutiluxError(`Expected \`path\` to be a non-empty string, got ${showValue(options.path)} (${typeof options.path})`);
    }
    const synchronous = options.synchronous ?? "normal";
    if (synchronous !== "normal" && synchronous !== "full") {
      throw new RoutiluxError(`Expected \`synchronous\` to be "normal" or "full", got ${showValue(synchronous)}`);
    }
    this.leaseMs = checkMs(options.leaseMs, "leaseMs", DEFAULT_LEASE_MS);
    this.#busyTimeoutMs = checkMs(options.busyTimeoutMs, "busyTimeoutMs", 5000);
    this.path = resolve(options.path ?? DEFAULT_PATH);
    try {
      mkdirSync(dirname(this.path), { recursive: true });
    } catch (error) {
      throw new StoreError(`Cannot create the folder of ${String(this)}: ${describeError(error).message}`, { cause: error });
    }
    let db: Database.Database;
    try {
      db = new Database(this.path, { timeout: this.#busyTimeoutMs });
    } catch (error) {
      throw this.#failure("open", error);
    }
    try {
      openSchema(db, synchronous, String(this));
      this.#statements = prepare(db);
      this.#reader = new SqliteReader(db, String(this));
    } catch (error) {
      db.close();
      throw this.#failure("open", error);
    }
    this.#db = db;
    this.#checkpointer = new Checkpointer(db, this.path, this.#busyTimeoutMs);
    const committer = new SqliteCommitter(db);
    this.#commit = db.transaction((batch: CommitBatch) => committer.write(batch)).immediate;
    this.#claim = db.transaction((request: ClaimRequest) => this.#reader.claim(request)).immediate;
    this.#read = db.transaction((jobId: string) => this.#reader.read(jobId)).deferred;
    this.#renew = db.transaction((owner: string, until: number, held: readonly HeldLease[]) => this.#renewNow(owner, until, held))
      .immediate;
    this.#take = db.transaction((owner: string, jobIds: readonly string[]) => {
      const rows = this.#statements.waitingCommands.all(JSON.stringify(jobIds)) as Array<{ id: number; job_id: string; kind: JobCommand["kind"]; args: string }>;
      for (const row of rows) this.#statements.takeCommand.run(owner, row.id);
      return rows.map((row) => ({ id: row.id, jobId: row.job_id, kind: row.kind, args: JSON.parse(row.args) as Record<string, unknown> }));
    }).immediate;
    this.#releaseAll = db.transaction((owner: string) => {
      // Flow by flow (a seek for each), then in each status: the index's order.
      const s = this.#statements;
      let flowId = s.firstFlow.get() as string | null | undefined;
      while (typeof flowId === "string") {
        s.releaseAll.run(flowId, ...JOB_STATUSES, owner);
        flowId = s.nextFlow.get(flowId) as string | undefined;
      }
    }).immediate;
    this.#delete = db.transaction((jobId: string) => {
      this.#statements.deleteLog.run(jobId);
      this.#statements.deleteCommands.run(jobId);
      this.#statements.deleteJob.run(jobId);
    }).immediate;
  }

  /** Names the store in messages: `SQLite job store '/abs/path/jobs.db'`. */
  toString(): string {
    return `SQLite job store '${this.path}'`;
  }

  // ---------------------------------------------------------------- user methods

  loadJob(jobId: string): Promise<JobState | undefined> {
    return loadStoredJob(this, jobId);
  }

  listJobs(filter: JobFilter = {}): Promise<JobPage> {
    return this.#run("list jobs", () => this.#reader.list(filter));
  }

  deleteJob(jobId: string): Promise<void> {
    return this.#run(`delete job '${jobId}'`, () => this.#delete(jobId));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await closeWriter(this);
    } finally {
      this.#closed = true;
      await this.#checkpointer.stop();
      this.#db.close();
    }
  }

  // ---------------------------------------------------------------- engine methods

  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.#run("write a group commit", () => {
      this.#checkpointer.start();
      return this.#commit(batch);
    });
  }

  readJob(jobId: string): Promise<StoredJob | undefined> {
    return this.#run(`read job '${jobId}'`, () => this.#read(jobId));
  }

  claimJobs(request: ClaimRequest): Promise<StoredJob[]> {
    // A claim rewrites every row it takes: its WAL frames are checkpointed in the background too.
    this.#checkpointer.start();
    return this.#run(`claim the jobs of flow '${request.flowId}'`, () => this.#claim(request));
  }

  renewLeases(owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]): Promise<string[]> {
    return this.#run("renew leases", () => this.#renew(owner, leaseUntilMs, jobs));
  }

  releaseLeases(owner: string, jobIds?: readonly string[]): Promise<void> {
    return this.#run("release leases", () => {
      if (jobIds === undefined) this.#releaseAll(owner);
      else this.#db.transaction(() => jobIds.forEach((jobId) => this.#statements.releaseOne.run(owner, jobId))).immediate();
    });
  }

  sendCommand(request: CommandRequest): Promise<number> {
    return this.#run(`send a command to job '${request.jobId}'`, () =>
      Number(this.#statements.sendCommand.run(request.jobId, request.kind, JSON.stringify(request.args)).lastInsertRowid));
  }

  takeCommands(owner: string, jobIds: readonly string[]): Promise<JobCommand[]> {
    if (jobIds.length === 0) return this.#run("take commands", () => []);
    return this.#run("take commands", () => this.#take(owner, jobIds));
  }

  finishCommand(id: number, outcome: { ok: boolean; error?: string }): Promise<void> {
    return this.#run("finish a command", () => void this.#statements.finishCommand.run(outcome.ok ? "done" : "failed", outcome.error ?? null, id));
  }

  readCommand(id: number): Promise<CommandState | undefined> {
    return this.#run("read a command", () => {
      const row = this.#statements.readCommand.get(id) as { state: CommandState["state"]; error: string | null } | undefined;
      if (row === undefined) return undefined;
      return row.error === null ? { state: row.state } : { state: row.state, error: row.error };
    });
  }

  withdrawCommand(id: number): Promise<boolean> {
    return this.#run("withdraw a command", () => this.#statements.withdrawCommand.run(id).changes === 1);
  }

  // ---------------------------------------------------------------- inside transactions

  #renewNow(owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]): string[] {
    const gone: string[] = [];
    for (const { jobId, epoch } of jobs) {
      if (this.#statements.renewOne.run(leaseUntilMs, jobId, owner, epoch).changes === 0) gone.push(jobId);
    }
    return gone;
  }

  // ---------------------------------------------------------------- errors

  #run<T>(operation: string, fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError(`${String(this)} is closed; cannot ${operation}`));
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof RoutiluxError && !(error instanceof StoreError) ? error : this.#failure(operation, error));
    }
  }

  /** A database error as a StoreError that names the file and says what to do. */
  #failure(operation: string, error: unknown): StoreError {
    return databaseFailure(String(this), this.#busyTimeoutMs, operation, error);
  }
}

function prepare(db: Database.Database) {
  return {
    deleteLog: db.prepare("DELETE FROM job_log WHERE job_id = ?"),
    deleteJob: db.prepare("DELETE FROM jobs WHERE job_id = ?"),
    deleteCommands: db.prepare("DELETE FROM job_commands WHERE job_id = ?"),
    renewOne: db.prepare("UPDATE jobs SET lease_until = ? WHERE job_id = ? AND lease_owner = ? AND epoch = ? AND status = 'running'"),
    firstFlow: db.prepare("SELECT min(flow_id) FROM jobs").pluck(),
    nextFlow: db.prepare("SELECT flow_id FROM jobs WHERE flow_id > ? ORDER BY flow_id LIMIT 1").pluck(),
    releaseAll: db.prepare(`
      UPDATE jobs SET lease_owner = NULL, lease_until = NULL
      WHERE flow_id = ? AND status IN (${JOB_STATUSES.map(() => "?").join(", ")}) AND lease_owner = ?`),
    sendCommand: db.prepare("INSERT INTO job_commands (job_id, kind, args) VALUES (?, ?, ?)"),
    waitingCommands: db.prepare("SELECT id, job_id, kind, args FROM job_commands WHERE state = 'waiting' AND job_id IN (SELECT value FROM json_each(?)) ORDER BY id"),
    takeCommand: db.prepare("UPDATE job_commands SET state = 'taken', taken_by = ? WHERE id = ?"),
    finishCommand: db.prepare("UPDATE job_commands SET state = ?, error = ? WHERE id = ?"),
    readCommand: db.prepare("SELECT state, error FROM job_commands WHERE id = ?"),
    withdrawCommand: db.prepare("DELETE FROM job_commands WHERE id = ? AND state = 'waiting'"),
    releaseOne: db.prepare("UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND job_id = ?"),
  };
}
