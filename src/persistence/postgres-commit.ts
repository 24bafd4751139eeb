// One group commit on PostgreSQL: lock the rows of the batch's jobs, run the shared fencing checks,
// then write every accepted part with one statement (row upserts and updates, log drops and appends).
import type pg from "pg";
import type { JobStatus } from "../state/job-snapshot.js";
import type { CommitBatch, CommitResult, FencedWrite, JobWrite } from "./job-store.js";
import { fenceOf, lastSeqOf, type FenceRow } from "./store-common.js";

/** A connection inside a transaction. @internal */
export type FenceSource = pg.ClientBase;

interface LockedRow {
  job_id: string;
  status: JobStatus;
  last_seq: number;
  epoch: number;
  lease_owner: string | null;
  lease_until: number | null;
}

/** The columns of the accepted parts, one array per column (sent with `unnest`). */
class Columns {
  readonly jobId: string[] = [];
  readonly flowId: string[] = [];
  readonly status: string[] = [];
  readonly createdAt: number[] = [];
  readonly updatedAt: number[] = [];
  readonly snapshot: Array<string | null> = [];
  readonly snapshotSeq: Array<number | null> = [];
  readonly lastSeq: number[] = [];
  readonly owner: Array<string | null> = [];
  readonly until: Array<number | null> = [];
  readonly epoch: number[] = [];
  readonly metadata: Array<string | null> = [];
  readonly waiting: Array<string | null> = [];
  readonly dropsLog: boolean[] = [];
  readonly logJob: string[] = [];
  readonly logSeq: number[] = [];
  readonly logData: string[] = [];
  readonly ids = new Set<string>();

  get size(): number {
    return this.jobId.length;
  }
}

/**
 * Writes one group commit inside the caller's transaction: every part is checked against its
 * locked row (epoch, revision, lease, end) as every store does; fenced parts write nothing.
 * @internal
 */
export async function writeBatch(client: FenceSource, schema: string, batch: CommitBatch): Promise<CommitResult> {
  const fenced: FencedWrite[] = [];
  const epochs: Record<string, number> = {};
  if (batch.jobs.length === 0) return { fenced, epochs };
  const ids = [...new Set(batch.jobs.map((w) => w.jobId))].sort();
  // Locked in one order by every writer, so two group commits never deadlock.
  const locked = (await client.query<LockedRow>(
    `SELECT job_id, status, last_seq, epoch, lease_owner, lease_until FROM ${schema}.jobs WHERE job_id = ANY($1::text[]) ORDER BY job_id FOR UPDATE`,
    [ids],
  )).rows;
  const rows = new Map<string, FenceRow>(locked.map((r) => [r.job_id, {
    status: r.status, lastSeq: r.last_seq, epoch: r.epoch, leaseOwner: r.lease_owner, leaseUntilMs: r.lease_until,
  }]));
  // A job written twice in one batch goes to a second round, checked against what the first left.
  const rounds: Columns[] = [];
  for (const write of batch.jobs) {
    const row = rows.get(write.jobId);
    const why = fenceOf(row, write, batch);
    if (why !== undefined) {
      fenced.push(why);
      continue;
    }
    const epoch = write.acquire === true ? (row?.epoch ?? 0) + 1 : write.epoch;
    if (write.acquire === true) epochs[write.jobId] = epoch;
    const last = lastSeqOf(write);
    if (last === undefined) continue;
    const running = write.status === "running";
    const owner = running ? batch.owner : null;
    const until = running ? batch.leaseUntilMs : null;
    rows.set(write.jobId, { status: write.status, lastSeq: last, epoch, leaseOwner: owner, leaseUntilMs: until });
    let round = rounds.find((r) => !r.ids.has(write.jobId));
    if (round === undefined) rounds.push((round = new Columns()));
    add(round, write, last, epoch, owner, until);
  }
  for (const round of rounds) await writeRound(client, schema, round);
  return { fenced, epochs };
}

function add(c: Columns, write: JobWrite, last: number, epoch: number, owner: string | null, until: number | null): void {
  c.ids.add(write.jobId);
  c.jobId.push(write.jobId);
  c.flowId.push(write.flowId);
  c.status.push(write.status);
  c.createdAt.push(write.createdAtMs);
  c.updatedAt.push(write.updatedAtMs);
  c.snapshot.push(write.snapshot?.data ?? null);
  c.snapshotSeq.push(write.snapshot?.seq ?? null);
  c.lastSeq.push(last);
  c.owner.push(owner);
  c.until.push(until);
  c.epoch.push(epoch);
  c.metadata.push(write.metadata ?? null);
  c.waiting.push(write.waitingFor ?? null);
  c.dropsLog.push(write.snapshot !== undefined && write.dropsLog !== false);
  for (const commit of write.commits) {
    c.logJob.push(write.jobId);
    c.logSeq.push(commit.seq);
    c.logData.push(commit.data);
  }
}

/**
 * One statement: snapshot parts upsert their row, delta parts update theirs, logs before a
 * snapshot are dropped and new commits appended. (New commits always follow every stored one, so
 * the drop and the append never meet.)
 */
async function writeRound(client: FenceSource, s: string, c: Columns): Promise<void> {
  await client.query(`
    WITH w AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $7::bigint[], $8::bigint[],
        $9::text[], $10::float8[], $11::bigint[], $12::text[], $13::text[], $14::boolean[])
        AS w(job_id, flow_id, status, created_at, updated_at, snapshot, snapshot_seq, last_seq, lease_owner, lease_until, epoch, metadata, waiting, drops_log)
    ),
    ins AS (
      INSERT INTO ${s}.jobs (job_id, flow_id, status, created_at, updated_at, snapshot, snapshot_seq, last_seq, lease_owner, lease_until, epoch, metadata, waiting, ready_at)
      SELECT job_id, flow_id, status, created_at, updated_at, snapshot, snapshot_seq, last_seq, lease_owner, lease_until, epoch, metadata::jsonb, waiting, created_at
      FROM w WHERE snapshot IS NOT NULL
      ON CONFLICT (job_id) DO UPDATE SET flow_id = excluded.flow_id, status = excluded.status, updated_at = excluded.updated_at,
        snapshot = excluded.snapshot, snapshot_seq = excluded.snapshot_seq, last_seq = excluded.last_seq, lease_owner = excluded.lease_owner,
        lease_until = excluded.lease_until, epoch = excluded.epoch, metadata = coalesce(excluded.metadata, ${s}.jobs.metadata), waiting = excluded.waiting
    ),
    upd AS (
      UPDATE ${s}.jobs j SET flow_id = w.flow_id, status = w.status, updated_at = w.updated_at, last_seq = w.last_seq, lease_owner = w.lease_owner,
        lease_until = w.lease_until, epoch = w.epoch, metadata = coalesce(w.metadata::jsonb, j.metadata), waiting = w.waiting
      FROM w WHERE w.snapshot IS NULL AND j.job_id = w.job_id
    ),
    del AS (
      DELETE FROM ${s}.job_log l USING w WHERE w.drops_log AND l.job_id = w.job_id
    )
    INSERT INTO ${s}.job_log (job_id, seq, data) SELECT * FROM unnest($15::text[], $16::bigint[], $17::text[])`,
  [c.jobId, c.flowId, c.status, c.createdAt, c.updatedAt, c.snapshot, c.snapshotSeq, c.lastSeq, c.owner, c.until, c.epoch, c.metadata,
    c.waiting, c.dropsLog, c.logJob, c.logSeq, c.logData]);
}
