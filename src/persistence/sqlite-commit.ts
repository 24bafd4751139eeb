// One group commit on SQLite, inside the store's write transaction: each job's part is written by
// one statement whose conditions are the fencing checks every store runs (store-common.ts's
// fenceOf); only a part that statement refuses is checked step by step, to say why.
import type Database from "better-sqlite3";
import type { CommitBatch, CommitResult, FencedWrite, JobWrite } from "./job-store.js";
import { epochsByJob, fenceOf, lastSeqOf, type JobRowColumns } from "./store-common.js";

/** The columns of a job's row the fencing checks read. */
type FenceColumns = Pick<JobRowColumns, "status" | "last_seq" | "epoch" | "lease_owner" | "lease_until">;

/** Writes the group commits of a SQLite store into its tables. @internal */
export class SqliteCommitter {
  readonly #statements: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.#statements = prepare(db);
  }

  /** Writes one group commit; the caller holds the write transaction. */
  write(batch: CommitBatch): CommitResult {
    const fenced: FencedWrite[] = [];
    const epochs = epochsByJob();
    for (const write of batch.jobs) {
      const epoch = this.#writeJob(batch, write, fenced);
      if (epoch !== undefined && write.acquire === true) epochs[write.jobId] = epoch;
    }
    return { fenced, epochs };
  }

  /** One job's part of a group commit; returns the job's epoch, or undefined when it is fenced off. */
  #writeJob(batch: CommitBatch, write: JobWrite, fenced: FencedWrite[]): number | undefined {
    const s = this.#statements;
    const epoch = this.#guardedWrite(batch, write) ?? this.#checkedWrite(batch, write, fenced);
    if (epoch === undefined) return undefined;
    if (write.snapshot !== undefined && write.dropsLog !== false) s.deleteLog.run(write.jobId);
    for (const commit of write.commits) s.insertLog.run(write.jobId, commit.seq, commit.data);
    return epoch;
  }

  /**
   * The common part, in one statement whose conditions are the fencing checks: a new job, or the
   * next commits of a job this process holds. Returns the job's epoch, or undefined when the
   * statement matched no row (the checks then run one by one, to say why).
   */
  #guardedWrite(batch: CommitBatch, write: JobWrite): number | undefined {
    const last = lastSeqOf(write);
    if (last === undefined) return undefined;
    const s = this.#statements;
    const snapshot = write.snapshot;
    const jobId = write.jobId;
    const metadata = write.metadata ?? null;
    const waiting = write.waitingFor ?? null;
    if (write.acquire === true) {
      if (write.previousSeq !== 0 || snapshot === undefined) return undefined;
      const running = write.status === "running";
      const added = s.insertNew.run(
        jobId, write.flowId, write.status, write.createdAtMs, write.updatedAtMs, snapshot.data, snapshot.seq, last,
        running ? batch.owner : null, running ? batch.leaseUntilMs : null, metadata, waiting,
      );
      return added.changes === 1 ? 1 : undefined;
    }
    const text = snapshot?.data ?? null;
    const at = snapshot?.seq ?? null;
    const running = write.status === "running";
    // A job that stays running here keeps its status and lease owner: its indexed columns are left
    // alone, so the write dirties no index page.
    if (running) {
      const kept = s.advanceRunning.run(
        write.updatedAtMs, text, at, last, batch.leaseUntilMs, metadata, waiting, jobId, write.epoch, write.previousSeq, batch.owner,
      );
      if (kept.changes === 1) return write.epoch;
    }
    const moved = s.advance.run(
      write.status, write.updatedAtMs, text, at, last, running ? batch.owner : null, running ? batch.leaseUntilMs : null, metadata, waiting,
      jobId, write.epoch, write.previousSeq,
    );
    return moved.changes === 1 ? write.epoch : undefined;
  }

  /** One job's row after the fencing checks, one by one: the job's epoch, or undefined (and why, in `fenced`) when it is fenced off. */
  #checkedWrite(batch: CommitBatch, write: JobWrite, fenced: FencedWrite[]): number | undefined {
    const s = this.#statements;
    const row = s.fence.get(write.jobId) as FenceColumns | undefined;
    const why = fenceOf(row === undefined ? undefined : {
      status: row.status,
      lastSeq: row.last_seq,
      epoch: row.epoch,
      leaseOwner: row.lease_owner,
      leaseUntilMs: row.lease_until,
    }, write, batch);
    if (why !== undefined) {
      fenced.push(why);
      return undefined;
    }
    const last = lastSeqOf(write);
    const epoch = write.acquire === true ? (row?.epoch ?? 0) + 1 : write.epoch;
    if (last === undefined) return epoch;
    const running = write.status === "running";
    const params = {
      jobId: write.jobId,
      flowId: write.flowId,
      status: write.status,
      createdAt: write.createdAtMs,
      updatedAt: write.updatedAtMs,
      lastSeq: last,
      owner: running ? batch.owner : null,
      until: running ? batch.leaseUntilMs : null,
      epoch,
      metadata: write.metadata ?? null,
      waiting: write.waitingFor ?? null,
    };
    const snapshot = write.snapshot;
    if (snapshot !== undefined) s.upsert.run({ ...params, snapshot: snapshot.data, snapshotSeq: snapshot.seq });
    else s.update.run(params);
    return epoch;
  }
}

function prepare(db: Database.Database) {
  return {
    upsert: db.prepare(`
      INSERT INTO jobs (job_id, flow_id, status, created_at, updated_at, snapshot, snapshot_seq, last_seq, lease_owner, lease_until, epoch, metadata, waiting)
      VALUES (@jobId, @flowId, @status, @createdAt, @updatedAt, @snapshot, @snapshotSeq, @lastSeq, @owner, @until, @epoch, coalesce(@metadata, '{}'), @waiting)
      ON CONFLICT (job_id) DO UPDATE SET flow_id = excluded.flow_id, status = excluded.status, updated_at = excluded.updated_at,
        snapshot = excluded.snapshot, snapshot_seq = excluded.snapshot_seq, last_seq = excluded.last_seq,
        lease_owner = excluded.lease_owner, lease_until = excluded.lease_until, epoch = excluded.epoch,
        metadata = coalesce(@metadata, jobs.metadata), waiting = excluded.waiting`),
    update: db.prepare(`
      UPDATE jobs SET flow_id = @flowId, status = @status, updated_at = @updatedAt, last_seq = @lastSeq, lease_owner = @owner, lease_until = @until,
        epoch = @epoch, metadata = coalesce(@metadata, metadata), waiting = @waiting
      WHERE job_id = @jobId`),
    insertNew: db.prepare(`
      INSERT INTO jobs (job_id, flow_id, status, created_at, updated_at, snapshot, snapshot_seq, last_seq, lease_owner, lease_until, epoch, metadata, waiting)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, coalesce(?, '{}'), ?) ON CONFLICT (job_id) DO NOTHING`),
    advanceRunning: db.prepare(`
      UPDATE jobs SET updated_at = ?, snapshot = coalesce(?, snapshot), snapshot_seq = coalesce(?, snapshot_seq), last_seq = ?, lease_until = ?,
        metadata = coalesce(?, metadata), waiting = ?
      WHERE job_id = ? AND epoch = ? AND last_seq = ? AND status = 'running' AND lease_owner = ?`),
    advance: db.prepare(`
      UPDATE jobs SET status = ?, updated_at = ?, snapshot = coalesce(?, snapshot), snapshot_seq = coalesce(?, snapshot_seq), last_seq = ?,
        lease_owner = ?, lease_until = ?, metadata = coalesce(?, metadata), waiting = ?
      WHERE job_id = ? AND epoch = ? AND last_seq = ? AND status NOT IN ('completed', 'failed', 'cancelled')`),
    fence: db.prepare("SELECT status, last_seq, epoch, lease_owner, lease_until FROM jobs WHERE job_id = ?"),
    insertLog: db.prepare("INSERT INTO job_log (job_id, seq, data) VALUES (?, ?, ?)"),
    deleteLog: db.prepare("DELETE FROM job_log WHERE job_id = ?"),
  };
}
