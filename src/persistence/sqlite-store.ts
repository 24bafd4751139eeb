import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { RoutiluxError, StoreError, describeError, showValue } from "../core/errors.js";
import { JOB_STATUSES } from "../state/job-snapshot.js";
import type { JobCommand } from "../state/journal.js";
import type { JobState } from "../api/job-state.js";
import { Checkpointer } from "./sqlite-checkpointer.js";
import { SqliteCommitter } from "./sqlite-commit.js";
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
  type StoredCommit,
  type StoredJob,
} from "./job-store.js";
import { checkFilter, checkMs, leaseIsFree, loadStoredJob, pageOf, summaryOf, type JobRowColumns } from "./store-common.js";
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

/** The schema this release writes, kept in `PRAGMA user_version`. */
const SCHEMA_VERSION = 3;
const DEFAULT_PATH = "./.routilux/jobs.db";

/** Control requests for jobs, from processes that do not hold them to the one that does. */
const COMMANDS = `
CREATE TABLE job_commands (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id   TEXT NOT NULL,
  kind     TEXT NOT NULL,
  args     TEXT NOT NULL,
  state    TEXT NOT NULL DEFAULT 'waiting',
  taken_by TEXT,
  error    TEXT
);
CREATE INDEX job_commands_waiting ON job_commands (job_id) WHERE state = 'waiting';
`;

/**
 * The jobs of a flow by status, and the leases each owner holds among them: one index, so that
 * starting or ending a job updates one index entry for both (a group commit writes each page it
 * changes, and pages are most of its cost).
 */
const JOBS_BY_FLOW_STATUS = "CREATE INDEX jobs_by_flow_status ON jobs (flow_id, status, lease_owner);";

const SCHEMA = `
CREATE TABLE jobs (
  job_id       TEXT PRIMARY KEY,
  flow_id      TEXT NOT NULL,
  status       TEXT NOT NULL,
  created_at   REAL NOT NULL,
  updated_at   REAL NOT NULL,
  snapshot     TEXT NOT NULL,
  snapshot_seq INTEGER NOT NULL,
  last_seq     INTEGER NOT NULL,
  lease_owner  TEXT,
  lease_until  REAL,
  epoch        INTEGER NOT NULL DEFAULT 1,
  metadata     TEXT NOT NULL DEFAULT '{}',
  waiting      TEXT
);
${JOBS_BY_FLOW_STATUS}
CREATE INDEX jobs_by_age ON jobs (created_at);
CREATE TABLE job_log (
  job_id TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  data   TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
${COMMANDS}`;

/** Each entry takes a store from the version before it to its version; a new store gets SCHEMA at once. */
const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 2,
    sql: `
      ALTER TABLE jobs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE jobs ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE jobs ADD COLUMN waiting TEXT;
      CREATE INDEX jobs_by_age ON jobs (created_at);
      ${COMMANDS}
    `,
  },
  {
    version: 3,
    sql: `
      DROP INDEX IF EXISTS jobs_by_lease_owner;
      DROP INDEX IF EXISTS jobs_by_flow_status;
      ${JOBS_BY_FLOW_STATUS}
    `,
  },
];

interface JobRow extends JobRowColumns {
  metadata: string;
  rowid: number;
}

/**
 * What a claim first reads of each candidate job:
 * `[rowid, job_id, status, lease_owner, lease_until, epoch, snapshot_seq, last_seq]`.
 */
type CandidateRow = [number, string, JobRow["status"], string | null, number | null, number, number, number];

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
    } catch (error) {
      db.close();
      throw this.#failure("open", error);
    }
    this.#db = db;
    this.#checkpointer = new Checkpointer(db, this.path, this.#busyTimeoutMs);
    const committer = new SqliteCommitter(db);
    this.#commit = db.transaction((batch: CommitBatch) => committer.write(batch)).immediate;
    this.#claim = db.transaction((request: ClaimRequest) => this.#claimNow(request)).immediate;
    this.#read = db.transaction((jobId: string) => this.#readNow(jobId)).deferred;
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
    return this.#run("list jobs", () => {
      const f = checkFilter(filter, String(this));
      const where: string[] = [];
      const params: unknown[] = [];
      if (f.flowId !== undefined) {
        where.push("flow_id = ?");
        params.push(f.flowId);
      }
      if (f.statuses !== undefined) {
        where.push(`status IN (${f.statuses.map(() => "?").join(", ")})`);
        params.push(...f.statuses);
      }
      for (const [key, value] of f.metadata) {
        const path = `$."${key.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
        if (value === null) {
          where.push("json_type(metadata, ?) = 'null'");
          params.push(path);
        } else {
          where.push("json_type(metadata, ?) = ? AND json_extract(metadata, ?) = ?");
          params.push(path, typeof value === "string" ? "text" : typeof value === "boolean" ? (value ? "true" : "false") : Number.isInteger(value) ? "integer" : "real");
          params.push(path, typeof value === "boolean" ? (value ? 1 : 0) : value);
        }
      }
      if (f.after !== undefined) {
        where.push("(created_at, rowid) > (?, ?)");
        params.push(...f.after);
      }
      const sql = "SELECT job_id, flow_id, status, created_at, updated_at, last_seq, metadata, waiting, rowid FROM jobs" +
        (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") + " ORDER BY created_at, rowid" + (f.limit === undefined ? "" : ` LIMIT ${f.limit + 1}`);
      const rows = this.#db.prepare(sql).all(...params) as JobRow[];
      return pageOf(rows, f.limit, (row) => summaryOf({
        jobId: row.job_id,
        flowId: row.flow_id,
        status: row.status,
        createdAtMs: row.created_at,
        updatedAtMs: row.updated_at,
        metadata: row.metadata,
        revision: row.last_seq,
        waitingFor: row.waiting,
      }), (row) => [row.created_at, row.rowid]);
    });
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

  /**
   * In one transaction: picks the flow's claimable jobs from their lease columns, leases the
   * running ones (raising their epoch), then reads the snapshots and logs of those picked in bulk.
   * Jobs come in the order picked: those waiting longest first.
   */
  #claimNow(request: ClaimRequest): StoredJob[] {
    const s = this.#statements;
    let room = request.limit ?? Infinity;
    const picked: CandidateRow[] = [];
    const leased: number[] = [];
    for (const row of s.claimable.all(request.flowId, request.includePaused === true ? 1 : 0) as CandidateRow[]) {
      const [rowid, jobId, status, owner, until] = row;
      if (request.exclude?.has(jobId) === true) continue;
      if (status === "running") {
        if (room <= 0 || !leaseIsFree(owner, until, request)) continue;
        room--;
        leased.push(rowid);
      }
      picked.push(row);
    }
    if (picked.length === 0) return [];
    if (leased.length > 0) s.leaseMany.run(request.owner, request.leaseUntilMs, JSON.stringify(leased));
    // Both reads are keyed by the position in `picked`, whatever order the rows come in.
    const rowids = JSON.stringify(picked.map((row) => row[0]));
    const snapshots: string[] = [];
    for (const [i, snapshot] of s.snapshotsOf.all(rowids) as Array<[number, string]>) snapshots[i] = snapshot;
    const logs: StoredCommit[][] = [];
    let ordered = true;
    for (const [i, seq, data] of s.logsOf.all(rowids) as Array<[number, number, string]>) {
      const list = logs[i];
      if (list === undefined) logs[i] = [{ seq, data }];
      else {
        ordered &&= seq > list[list.length - 1]!.seq;
        list.push({ seq, data });
      }
    }
    if (!ordered) for (const list of logs) list?.sort((a, b) => a.seq - b.seq);
    return picked.map(([, jobId, status, owner, until, epoch, snapshotSeq, lastSeq], i) => {
      const commits = logs[i] ?? [];
      this.#checkLog(jobId, snapshotSeq, lastSeq, commits);
      const lease = status === "running";
      return {
        jobId,
        flowId: request.flowId,
        status,
        snapshot: snapshots[i]!,
        snapshotSeq,
        commits,
        epoch: lease ? epoch + 1 : epoch,
        leaseOwner: lease ? request.owner : owner,
        leaseUntilMs: lease ? request.leaseUntilMs : until,
      };
    });
  }

  /** A log that does not reach the job row's last commit is corruption. */
  #checkLog(jobId: string, snapshotSeq: number, lastSeq: number, commits: readonly StoredCommit[]): void {
    const last = commits.length > 0 ? commits[commits.length - 1]!.seq : snapshotSeq;
    if (last !== lastSeq) {
      throw new StoreError(`${String(this)}: job '${jobId}' should have commits up to seq ${lastSeq} but its log ends at ${last}; the store is corrupt`);
    }
  }

  #renewNow(owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]): string[] {
    const gone: string[] = [];
    for (const { jobId, epoch } of jobs) {
      if (this.#statements.renewOne.run(leaseUntilMs, jobId, owner, epoch).changes === 0) gone.push(jobId);
    }
    return gone;
  }

  #readNow(jobId: string): StoredJob | undefined {
    const s = this.#statements;
    const row = s.job.get(jobId) as JobRow | undefined;
    if (row === undefined) return undefined;
    const commits = s.log.all(jobId, row.snapshot_seq) as StoredCommit[];
    this.#checkLog(row.job_id, row.snapshot_seq, row.last_seq, commits);
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
    if (error instanceof StoreError) return error;
    const code = (error as { code?: unknown }).code;
    const detail = `${typeof code === "string" ? `${code}: ` : ""}${describeError(error).message}`;
    if (typeof code === "string" && (code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT"))) {
      return new StoreError(
        `${String(this)} is corrupt or not a SQLite database (${detail}); routilux never starts over an unreadable store: ` +
        "restore the file from a backup, or move it aside to start with an empty store",
        { cause: error },
      );
    }
    if (typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))) {
      return new StoreError(
        `${String(this)} is locked by another connection (${detail}); waited ${this.#busyTimeoutMs} ms (busyTimeoutMs) to ${operation}`,
        { cause: error },
      );
    }
    return new StoreError(`${String(this)} failed to ${operation}: ${detail}`, { cause: error });
  }
}

/** Checks the file's schema version, switches to WAL, and creates or migrates the tables. */
function openSchema(db: Database.Database, synchronous: "normal" | "full", where: string): void {
  const newer = (version: number): StoreError => new StoreError(
    `${where} has schema version ${version}, newer than this routilux reads (${SCHEMA_VERSION}); upgrade routilux, or give the store another path`,
  );
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw newer(version);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
  // Also the write probe: a store another connection keeps locked fails here, not at the first commit.
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION) throw newer(current);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    if (current === 0) {
      if (tables.length > 0) {
        throw new StoreError(`${where} is a SQLite database with other tables (${tables.join(", ")}), not a routilux job store; give the store another path`);
      }
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return;
    }
    if (!tables.includes("jobs") || !tables.includes("job_log")) {
      throw new StoreError(`${where} has schema version ${current} but lacks its tables (it has: ${tables.join(", ") || "none"}); the store is corrupt`);
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}

function prepare(db: Database.Database) {
  return {
    deleteLog: db.prepare("DELETE FROM job_log WHERE job_id = ?"),
    deleteJob: db.prepare("DELETE FROM jobs WHERE job_id = ?"),
    deleteCommands: db.prepare("DELETE FROM job_commands WHERE job_id = ?"),
    job: db.prepare("SELECT * FROM jobs WHERE job_id = ?"),
    log: db.prepare("SELECT seq, data FROM job_log WHERE job_id = ? AND seq > ? ORDER BY seq"),
    claimable: db.prepare(`
      SELECT rowid, job_id, status, lease_owner, lease_until, epoch, snapshot_seq, last_seq FROM jobs
      WHERE flow_id = ? AND (status = 'running' OR (? = 1 AND status = 'paused')) ORDER BY created_at, rowid`).raw(),
    leaseMany: db.prepare(`
      UPDATE jobs SET lease_owner = ?, lease_until = ?, epoch = epoch + 1 WHERE rowid IN (SELECT value FROM json_each(?))`),
    // Given jobs by rowid (a JSON array), each row names its job by its place in the array.
    snapshotsOf: db.prepare(`
      SELECT k.key, j.snapshot FROM json_each(?) k CROSS JOIN jobs j ON j.rowid = k.value`).raw(),
    logsOf: db.prepare(`
      SELECT k.key, l.seq, l.data FROM json_each(?) k CROSS JOIN jobs j ON j.rowid = k.value
      CROSS JOIN job_log l ON l.job_id = j.job_id AND l.seq > j.snapshot_seq`).raw(),
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
