// The SQLite store's reads of jobs: a page of summaries, one job as stored, and the claim of a
// flow's jobs (which leases those it takes), the last two inside a transaction the store opens.
import type Database from "better-sqlite3";
import { StoreError } from "../core/errors.js";
import type { ClaimRequest, JobFilter, JobPage, StoredCommit, StoredJob } from "./job-store.js";
import type { JobRow } from "./sqlite-schema.js";
import { checkFilter, leaseIsFree, pageOf, storedJobOf, summaryOfRow } from "./store-common.js";

/**
 * What a claim first reads of each candidate job:
 * `[rowid, job_id, status, lease_owner, lease_until, epoch, snapshot_seq, last_seq]`.
 */
type CandidateRow = [number, string, JobRow["status"], string | null, number | null, number, number, number];

function prepareReads(db: Database.Database) {
  return {
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
  };
}

/** Reads the jobs of one SQLite store; `where` names the store in messages. @internal */
export class SqliteReader {
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepareReads>;
  readonly #where: string;

  constructor(db: Database.Database, where: string) {
    this.#db = db;
    this.#statements = prepareReads(db);
    this.#where = where;
  }

  /** The summaries of the jobs that match `filter`, oldest first, a page at a time. */
  list(filter: JobFilter): JobPage {
    const f = checkFilter(filter, this.#where);
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
    return pageOf(rows, f.limit, (row) => summaryOfRow(row, row.metadata), (row) => [row.created_at, row.rowid]);
  }

  /** Inside a transaction: the job's row and the commits after its snapshot, or undefined. */
  read(jobId: string): StoredJob | undefined {
    const s = this.#statements;
    const row = s.job.get(jobId) as JobRow | undefined;
    if (row === undefined) return undefined;
    const commits = s.log.all(jobId, row.snapshot_seq) as StoredCommit[];
    this.#checkLog(row.job_id, row.snapshot_seq, row.last_seq, commits);
    return storedJobOf(row, commits);
  }

  /**
   * Inside a transaction: picks the flow's claimable jobs from their lease columns, leases the
   * running ones (raising their epoch), then reads the snapshots and logs of those picked in bulk.
   * Jobs come in the order picked: those waiting longest first.
   */
  claim(request: ClaimRequest): StoredJob[] {
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
      throw new StoreError(`${this.#where}: job '${jobId}' should have commits up to seq ${lastSeq} but its log ends at ${last}; the store is corrupt`);
    }
  }
}
