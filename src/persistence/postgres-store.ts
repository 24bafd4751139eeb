import pg from "pg";
import { RoutiluxError, StoreError } from "../core/errors.js";
import type { JobState } from "../api/job-state.js";
import type { JobCommand } from "../state/journal.js";
import type {
  ClaimRequest,
  CommandRequest,
  CommandState,
  CommitBatch,
  CommitResult,
  HeldLease,
  JobFilter,
  JobPage,
  JobStore,
  JobSummary,
  StoredCommit,
  StoredJob,
} from "./job-store.js";
import { connectionOf, storeFailure, type PostgresJobStoreOptions } from "./postgres-connection.js";
import { migrate } from "./postgres-schema.js";
import { JobWatch } from "./postgres-watch.js";
import { writeBatch } from "./postgres-commit.js";
import { checkFilter, loadStoredJob, pageOf, storedJobOf, summaryOfRow, type JobRowColumns } from "./store-common.js";
import { closeWriter } from "./store-writer.js";

/** A row of the jobs table, as read. */
export interface PgJobRow extends JobRowColumns {
  metadata: Record<string, unknown> | null;
  ord: number;
}

/**
 * The job store several processes and hosts share: PostgreSQL (node-postgres). Each job is a row
 * of table `jobs` (its latest snapshot, owner, lease and fencing epoch) and its write-ahead log
 * rows in `job_log`; a group commit is one transaction that locks the rows it writes and checks
 * every job's epoch and revision, so a process that lost a job can never write it again.
 * `Worker`s claim running jobs with `FOR UPDATE SKIP LOCKED` and are woken by LISTEN/NOTIFY.
 *
 * The schema is versioned: at start the store applies the migrations its database lacks, under an
 * advisory lock. A wrong connection string, a server that refuses the connection, or a schema
 * written by a newer routilux gives a {@link StoreError} naming the database (from every method,
 * and from {@link PostgresJobStore.ready}); the store never starts over silently.
 *
 * @example
 * ```ts
 * const store = new PostgresJobStore({ connectionString: "postgres://app@db:5432/jobs" });
 * await store.ready();
 * const flow = new Flow({ flowId: "ingest", store });
 * ```
 */
export class PostgresJobStore implements JobStore {
  readonly leaseMs: number;
  /** The PostgreSQL schema holding the tables. */
  readonly schema: string;
  readonly #where: string;
  readonly #pool: pg.Pool;
  readonly #ready: Promise<void>;
  readonly #watch: JobWatch;
  #closed = false;

  /** Opens a pool on the database and starts preparing the schema; throws a StoreError for a malformed connection string. */
  constructor(options: PostgresJobStoreOptions) {
    const connection = connectionOf(options);
    this.leaseMs = connection.leaseMs;
    this.schema = connection.schema;
    this.#where = connection.where;
    this.#pool = new pg.Pool(connection.pool);
    // A pooled connection the server drops while idle: the next query reports it.
    this.#pool.on("error", () => undefined);
    this.#watch = new JobWatch(connection.watch, `${connection.schema}_jobs`);
    this.#ready = this.#open();
    this.#ready.catch(() => undefined);
  }

  /** Names the store in messages: `PostgreSQL job store 'postgres://app@db:5432/jobs' (schema routilux)`. */
  toString(): string {
    return this.#where;
  }

  /** Resolves once the store is connected and its schema is current; rejects with the StoreError that stops it. */
  ready(): Promise<void> {
    return this.#closed ? Promise.reject(new StoreError(`${this.#where} is closed`)) : this.#ready;
  }

  async #open(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storeFailure(this.#where, "connect", error);
    }
    try {
      await migrate(client, this.schema, this.#where);
    } catch (error) {
      throw storeFailure(this.#where, "prepare its schema", error);
    } finally {
      client.release();
    }
  }

  // ---------------------------------------------------------------- user methods

  loadJob(jobId: string): Promise<JobState | undefined> {
    return loadStoredJob(this, jobId);
  }

  listJobs(filter: JobFilter = {}): Promise<JobPage> {
    return this.#run("list jobs", async () => {
      const f = checkFilter(filter, this.#where);
      const where: string[] = [];
      const params: unknown[] = [];
      const p = (value: unknown): string => `$${params.push(value)}`;
      if (f.flowId !== undefined) where.push(`flow_id = ${p(f.flowId)}`);
      if (f.statuses !== undefined) where.push(`status = ANY(${p(f.statuses)}::text[])`);
      for (const [key, value] of f.metadata) {
        const field = `metadata -> ${p(key)}::text`;
        if (value === null) where.push(`${field} = 'null'::jsonb`);
        else if (typeof value === "string") where.push(`${field} = to_jsonb(${p(value)}::text)`);
        else if (typeof value === "boolean") where.push(`${field} = to_jsonb(${p(value)}::boolean)`);
        else where.push(`jsonb_typeof(${field}) = 'number' AND (${field})::numeric = ${p(value)}::numeric`);
      }
      if (f.after !== undefined) where.push(`(created_at, ord) > (${p(f.after[0])}::float8, ${p(f.after[1])}::bigint)`);
      const sql = `SELECT job_id, flow_id, status, created_at, updated_at, last_seq, metadata, waiting, ord FROM ${this.schema}.jobs` +
        (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") + " ORDER BY created_at, ord" + (f.limit === undefined ? "" : ` LIMIT ${f.limit + 1}`);
      const rows = (await this.#pool.query<PgJobRow>(sql, params)).rows;
      const summary = (row: PgJobRow): JobSummary => summaryOfRow(row, row.metadata === null ? null : JSON.stringify(row.metadata));
      return pageOf(rows, f.limit, summary, (row) => [row.created_at, row.ord]);
    });
  }

  deleteJob(jobId: string): Promise<void> {
    const s = this.schema;
    return this.#run(`delete job '${jobId}'`, async () => {
      await this.#pool.query(
        `WITH l AS (DELETE FROM ${s}.job_log WHERE job_id = $1), c AS (DELETE FROM ${s}.job_commands WHERE job_id = $1) DELETE FROM ${s}.jobs WHERE job_id = $1`,
        [jobId],
      );
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (await this.#ready.then(() => true, () => false)) await closeWriter(this);
    } finally {
      this.#closed = true;
      await this.#watch.close();
      await this.#pool.end().catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- engine methods

  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.#run("write a group commit", () => writeBatch(this.#pool, this.schema, batch));
  }

  readJob(jobId: string): Promise<StoredJob | undefined> {
    const s = this.schema;
    return this.#run(`read job '${jobId}'`, async () => {
      // One statement: the row and its log from one snapshot.
      const rows = (await this.#pool.query<PgJobRow & { seqs: number[]; datas: string[] }>(`
        SELECT j.*,
          ARRAY(SELECT l.seq::float8 FROM ${s}.job_log l WHERE l.job_id = j.job_id AND l.seq > j.snapshot_seq ORDER BY l.seq) AS seqs,
          ARRAY(SELECT l.data FROM ${s}.job_log l WHERE l.job_id = j.job_id AND l.seq > j.snapshot_seq ORDER BY l.seq) AS datas
        FROM ${s}.jobs j WHERE j.job_id = $1`, [jobId])).rows;
      const row = rows[0];
      return row === undefined ? undefined : this.#stored(row, row.seqs.map((seq, i) => ({ seq, data: row.datas[i]! })));
    });
  }

  claimJobs(request: ClaimRequest): Promise<StoredJob[]> {
    const s = this.schema;
    return this.#run(`claim the jobs of flow '${request.flowId}'`, () => this.#transaction(async (client) => {
      const { flowId, owner, nowMs } = request;
      const exclude = [...(request.exclude ?? [])];
      let gone: string[] = [];
      if (request.isOwnerGone !== undefined) {
        const owners = await client.query<{ lease_owner: string }>(
          `SELECT DISTINCT lease_owner FROM ${s}.jobs WHERE flow_id = $1 AND status = 'running' AND lease_owner IS NOT NULL AND lease_owner <> $2 AND lease_until >= $3`,
          [flowId, owner, nowMs],
        );
        gone = owners.rows.map((r) => r.lease_owner).filter((o) => request.isOwnerGone!(o));
      }
      // A worker (with a limit) skips rows another claimer holds; recover() waits for them, so a flow's jobs go to one caller.
      const lock = request.limit === undefined ? "FOR UPDATE" : "FOR UPDATE SKIP LOCKED";
      const running = (await client.query<PgJobRow>(`
        WITH c AS (
          SELECT job_id FROM ${s}.jobs
          WHERE flow_id = $1 AND status = 'running' AND NOT (job_id = ANY($6::text[]))
            AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until < $3 OR lease_owner = $2 OR lease_owner = ANY($5::text[]))
          ORDER BY ready_at, ord LIMIT $7 ${lock})
        UPDATE ${s}.jobs j SET lease_owner = $2, lease_until = $4, epoch = j.epoch + 1 FROM c WHERE j.job_id = c.job_id
        RETURNING j.*`, [flowId, owner, nowMs, request.leaseUntilMs, gone, exclude, request.limit ?? null])).rows;
      const paused = request.includePaused === true
        ? (await client.query<PgJobRow>(`SELECT * FROM ${s}.jobs WHERE flow_id = $1 AND status = 'paused' AND NOT (job_id = ANY($2::text[]))`, [flowId, exclude])).rows
        : [];
      const rows = [...running, ...paused].sort((a, b) => a.created_at - b.created_at || a.ord - b.ord);
      if (rows.length === 0) return [];
      const logs = new Map<string, StoredCommit[]>();
      const logRows = await client.query<{ job_id: string; seq: number; data: string }>(`
        SELECT l.job_id, l.seq, l.data FROM ${s}.job_log l JOIN ${s}.jobs j ON j.job_id = l.job_id
        WHERE l.job_id = ANY($1::text[]) AND l.seq > j.snapshot_seq ORDER BY l.job_id, l.seq`, [rows.map((r) => r.job_id)]);
      for (const commit of logRows.rows) {
        let list = logs.get(commit.job_id);
        if (list === undefined) logs.set(commit.job_id, (list = []));
        list.push({ seq: commit.seq, data: commit.data });
      }
      return rows.map((row) => this.#stored(row, logs.get(row.job_id) ?? []));
    }));
  }

  renewLeases(owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]): Promise<string[]> {
    const s = this.schema;
    return this.#run("renew leases", async () => {
      if (jobs.length === 0) return [];
      const held = (await this.#pool.query<{ job_id: string }>(`
        UPDATE ${s}.jobs j SET lease_until = $1 FROM unnest($2::text[], $3::bigint[]) AS h(job_id, epoch)
        WHERE j.job_id = h.job_id AND j.lease_owner = $4 AND j.epoch = h.epoch AND j.status = 'running' RETURNING j.job_id`,
      [leaseUntilMs, jobs.map((j) => j.jobId), jobs.map((j) => j.epoch), owner])).rows;
      const kept = new Set(held.map((r) => r.job_id));
      return jobs.filter((j) => !kept.has(j.jobId)).map((j) => j.jobId);
    });
  }

  releaseLeases(owner: string, jobIds?: readonly string[]): Promise<void> {
    const s = this.schema;
    return this.#run("release leases", async () => {
      // Running jobs let go become claimable: workers listening are told.
      await this.#pool.query(`
        WITH r AS (
          UPDATE ${s}.jobs SET lease_owner = NULL, lease_until = NULL, ready_at = $2
          WHERE lease_owner = $1 AND ($3::text[] IS NULL OR job_id = ANY($3::text[])) RETURNING flow_id, status)
        SELECT pg_notify($4, f.flow_id) FROM (SELECT DISTINCT flow_id FROM r WHERE status = 'running') f`,
      [owner, Date.now(), jobIds === undefined ? null : [...jobIds], this.#watch.channel]);
    });
  }

  sendCommand(request: CommandRequest): Promise<number> {
    return this.#run(`send a command to job '${request.jobId}'`, async () => {
      const rows = (await this.#pool.query<{ id: number }>(
        `INSERT INTO ${this.schema}.job_commands (job_id, kind, args) VALUES ($1, $2, $3) RETURNING id`,
        [request.jobId, request.kind, JSON.stringify(request.args)],
      )).rows;
      return rows[0]!.id;
    });
  }

  takeCommands(owner: string, jobIds: readonly string[]): Promise<JobCommand[]> {
    const s = this.schema;
    return this.#run("take commands", async () => {
      if (jobIds.length === 0) return [];
      const rows = (await this.#pool.query<{ id: number; job_id: string; kind: JobCommand["kind"]; args: string }>(`
        UPDATE ${s}.job_commands SET state = 'taken', taken_by = $1
        WHERE id IN (SELECT id FROM ${s}.job_commands WHERE state = 'waiting' AND job_id = ANY($2::text[]) ORDER BY id FOR UPDATE SKIP LOCKED)
        RETURNING id, job_id, kind, args`, [owner, [...jobIds]])).rows;
      return rows.sort((a, b) => a.id - b.id)
        .map((row) => ({ id: row.id, jobId: row.job_id, kind: row.kind, args: JSON.parse(row.args) as Record<string, unknown> }));
    });
  }

  finishCommand(id: number, outcome: { ok: boolean; error?: string }): Promise<void> {
    return this.#run("finish a command", async () => {
      await this.#pool.query(`UPDATE ${this.schema}.job_commands SET state = $1, error = $2 WHERE id = $3`, [outcome.ok ? "done" : "failed", outcome.error ?? null, id]);
    });
  }

  readCommand(id: number): Promise<CommandState | undefined> {
    return this.#run("read a command", async () => {
      const row = (await this.#pool.query<{ state: CommandState["state"]; error: string | null }>(
        `SELECT state, error FROM ${this.schema}.job_commands WHERE id = $1`, [id],
      )).rows[0];
      if (row === undefined) return undefined;
      return row.error === null ? { state: row.state } : { state: row.state, error: row.error };
    });
  }

  withdrawCommand(id: number): Promise<boolean> {
    return this.#run("withdraw a command", async () =>
      ((await this.#pool.query(`DELETE FROM ${this.schema}.job_commands WHERE id = $1 AND state = 'waiting'`, [id])).rowCount ?? 0) === 1);
  }

  watchJobs(listener: (flowId: string) => void): () => void {
    if (this.#closed) return () => undefined;
    return this.#watch.add(listener);
  }

  // ---------------------------------------------------------------- helpers

  /** A job row and its log as the store hands them out; a log that does not reach the row's last commit is corruption. */
  #stored(row: PgJobRow, commits: StoredCommit[]): StoredJob {
    const last = commits.length > 0 ? commits[commits.length - 1]!.seq : row.snapshot_seq;
    if (last !== row.last_seq) {
      throw new StoreError(`${this.#where}: job '${row.job_id}' should have commits up to seq ${row.last_seq} but its log ends at ${last}; the store is corrupt`);
    }
    return storedJobOf(row, commits);
  }

  /** Runs `fn` in one transaction on one pooled connection; a connection that failed is not reused. */
  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((rollback: unknown) => {
        broken = rollback instanceof Error ? rollback : new Error(String(rollback));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError(`${this.#where} is closed; cannot ${operation}`);
    await this.#ready;
    try {
      return await fn();
    } catch (error) {
      throw error instanceof RoutiluxError && !(error instanceof StoreError) ? error : storeFailure(this.#where, operation, error);
    }
  }
}
