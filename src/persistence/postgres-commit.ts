// One group commit on PostgreSQL, in one round trip: the store's `commit_batch` function (schema
// version 2) locks the rows of the batch's jobs in one order, runs the fencing checks every store
// runs (store-common.ts's fenceOf), and writes the parts that pass, in one statement.
import type pg from "pg";
import type { CommitBatch, CommitResult, FencedWrite, JobWrite } from "./job-store.js";
import { epochsByJob, lastSeqOf } from "./store-common.js";

interface PartResult {
  part: number;
  reason: FencedWrite["reason"] | null;
  stored_seq: number | null;
  lease_owner: string | null;
  epoch: number | null;
}

function parameters(batch: CommitBatch, writes: readonly JobWrite[], voidOwners: readonly string[]): unknown[] {
  const logPart: number[] = [];
  const logSeq: number[] = [];
  const logData: string[] = [];
  writes.forEach((write, i) => {
    for (const commit of write.commits) {
      logPart.push(i + 1);
      logSeq.push(commit.seq);
      logData.push(commit.data);
    }
  });
  return [
    batch.owner, batch.nowMs, batch.leaseUntilMs, voidOwners,
    writes.map((w) => w.jobId), writes.map((w) => w.flowId), writes.map((w) => w.status), writes.map((w) => w.createdAtMs),
    writes.map((w) => w.updatedAtMs), writes.map((w) => w.previousSeq), writes.map((w) => w.epoch), writes.map((w) => w.acquire === true),
    writes.map((w) => w.snapshot?.data ?? null), writes.map((w) => w.snapshot?.seq ?? null),
    writes.map((w) => w.snapshot !== undefined && w.dropsLog !== false), writes.map((w) => lastSeqOf(w) ?? null),
    writes.map((w) => w.metadata ?? null), writes.map((w) => w.waitingFor ?? null),
    logPart, logSeq, logData,
  ];
}

/**
 * Writes one group commit as one statement (its own transaction). A part refused only because a
 * live-looking owner leases the job is tried again at once when `batch.isOwnerGone` says that
 * owner has exited.
 * @internal
 */
export async function writeBatch(client: pg.Pool | pg.ClientBase, schema: string, batch: CommitBatch): Promise<CommitResult> {
  const fenced: FencedWrite[] = [];
  const epochs = epochsByJob();
  let writes = batch.jobs;
  let voidOwners: string[] = [];
  while (writes.length > 0) {
    const rows = (await client.query<PartResult>(
      `SELECT * FROM ${schema}.commit_batch(${Array.from({ length: 21 }, (_, i) => `$${i + 1}`).join(", ")})`,
      parameters(batch, writes, voidOwners),
    )).rows;
    const again: JobWrite[] = [];
    const gone = new Set<string>();
    for (const row of rows) {
      const write = writes[row.part - 1]!;
      if (row.reason === null) {
        epochs[write.jobId] = row.epoch!;
        continue;
      }
      if (row.reason === "leased" && row.lease_owner !== null && !voidOwners.includes(row.lease_owner) && batch.isOwnerGone?.(row.lease_owner) === true) {
        gone.add(row.lease_owner);
        again.push(write);
        continue;
      }
      fenced.push(fencedPart(write.jobId, row));
    }
    writes = again;
    voidOwners = [...voidOwners, ...gone];
  }
  return { fenced, epochs };
}

function fencedPart(jobId: string, row: PartResult): FencedWrite {
  switch (row.reason) {
    case "missing":
      return { jobId, reason: "missing" };
    case "leased":
      return { jobId, reason: "leased", leaseOwner: row.lease_owner ?? "" };
    default:
      return { jobId, reason: row.reason!, storedSeq: row.stored_seq ?? 0 };
  }
}
