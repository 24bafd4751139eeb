// The PostgreSQL store's tables, and the versioned migrations that create and change them.
import type { PoolClient } from "pg";
import { StoreError } from "../core/errors.js";

/** One step of the schema: applied once, in order, recorded in `<schema>.migrations`. @internal */
export interface Migration {
  readonly version: number;
  readonly sql: (schema: string) => string;
}

/**
 * The schema's history: a store applies, at start and under an advisory lock, every migration
 * its database lacks. Never edit a released entry; add a new one.
 * @internal
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: (s) => `
      CREATE TABLE ${s}.jobs (
        job_id       text PRIMARY KEY,
        flow_id      text NOT NULL,
        status       text NOT NULL,
        created_at   double precision NOT NULL,
        updated_at   double precision NOT NULL,
        snapshot     text NOT NULL,
        snapshot_seq bigint NOT NULL,
        last_seq     bigint NOT NULL,
        lease_owner  text,
        lease_until  double precision,
        epoch        bigint NOT NULL DEFAULT 1,
        metadata     jsonb,
        waiting      text,
        ready_at     double precision NOT NULL,
        ord          bigserial NOT NULL
      );
      CREATE INDEX jobs_claimable ON ${s}.jobs (flow_id, ready_at) WHERE status = 'running';
      CREATE INDEX jobs_by_flow_status ON ${s}.jobs (flow_id, status);
      CREATE INDEX jobs_by_lease_owner ON ${s}.jobs (lease_owner) WHERE lease_owner IS NOT NULL;
      CREATE INDEX jobs_by_age ON ${s}.jobs (created_at, ord);
      CREATE TABLE ${s}.job_log (
        job_id text NOT NULL,
        seq    bigint NOT NULL,
        data   text NOT NULL,
        PRIMARY KEY (job_id, seq)
      );
      CREATE TABLE ${s}.job_commands (
        id       bigserial PRIMARY KEY,
        job_id   text NOT NULL,
        kind     text NOT NULL,
        args     text NOT NULL,
        state    text NOT NULL DEFAULT 'waiting',
        taken_by text,
        error    text
      );
      CREATE INDEX job_commands_waiting ON ${s}.job_commands (job_id) WHERE state = 'waiting';
    `,
  },
  {
    // A group commit in one round trip: the fencing checks of store-common.ts's fenceOf, then the writes.
    version: 2,
    sql: (s) => `
      CREATE FUNCTION ${s}.commit_batch(
        p_owner text, p_now float8, p_until float8, p_void text[],
        p_job text[], p_flow text[], p_status text[], p_created float8[], p_updated float8[], p_prev bigint[], p_epoch bigint[],
        p_acquire boolean[], p_snapshot text[], p_snapshot_seq bigint[], p_drops boolean[], p_last bigint[], p_metadata text[], p_waiting text[],
        p_log_part int[], p_log_seq bigint[], p_log_data text[]
      ) RETURNS TABLE (part int, reason text, stored_seq bigint, lease_owner text, epoch bigint)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        r record;
        i int;
        why text;
        new_epoch bigint;
        live boolean;
        accepted int[] := '{}';
      BEGIN
        PERFORM 1 FROM ${s}.jobs j WHERE j.job_id = ANY(p_job) ORDER BY j.job_id FOR UPDATE;
        FOR i IN 1 .. coalesce(array_length(p_job, 1), 0) LOOP
          SELECT j.status, j.last_seq, j.epoch, j.lease_owner, j.lease_until INTO r FROM ${s}.jobs j WHERE j.job_id = p_job[i];
          why := NULL;
          IF NOT FOUND THEN
            IF NOT (p_acquire[i] AND p_prev[i] = 0 AND p_snapshot[i] IS NOT NULL) THEN why := 'missing'; END IF;
          ELSIF p_acquire[i] AND p_prev[i] = 0 THEN why := 'exists';
          ELSIF r.status IN ('completed', 'failed', 'cancelled') THEN why := 'ended';
          ELSIF p_acquire[i] THEN
            live := r.lease_owner IS NOT NULL AND r.lease_owner <> p_owner AND r.lease_until IS NOT NULL AND r.lease_until >= p_now
              AND NOT (r.lease_owner = ANY(p_void));
            IF r.last_seq <> p_prev[i] THEN why := 'revision';
            ELSIF live THEN why := 'leased';
            END IF;
          ELSIF r.epoch <> p_epoch[i] THEN why := 'epoch';
          ELSIF r.last_seq <> p_prev[i] THEN why := 'revision';
          END IF;
          IF why IS NOT NULL THEN
            part := i; reason := why; stored_seq := r.last_seq; lease_owner := CASE WHEN why = 'leased' THEN r.lease_owner END; epoch := NULL;
            RETURN NEXT;
            CONTINUE;
          END IF;
          new_epoch := CASE WHEN p_acquire[i] THEN coalesce(r.epoch, 0) + 1 ELSE p_epoch[i] END;
          IF p_acquire[i] THEN
            part := i; reason := NULL; stored_seq := NULL; lease_owner := NULL; epoch := new_epoch;
            RETURN NEXT;
          END IF;
          CONTINUE WHEN p_last[i] IS NULL;
          accepted := accepted || i;
          IF p_snapshot[i] IS NOT NULL THEN
            INSERT INTO ${s}.jobs AS j (job_id, flow_id, status, created_at, updated_at, snapshot, snapshot_seq, last_seq, lease_owner, lease_until, epoch,
              metadata, waiting, ready_at)
            VALUES (p_job[i], p_flow[i], p_status[i], p_created[i], p_updated[i], p_snapshot[i], p_snapshot_seq[i], p_last[i],
              CASE WHEN p_status[i] = 'running' THEN p_owner END, CASE WHEN p_status[i] = 'running' THEN p_until END, new_epoch,
              p_metadata[i]::jsonb, p_waiting[i], p_created[i])
            ON CONFLICT (job_id) DO UPDATE SET flow_id = excluded.flow_id, status = excluded.status, updated_at = excluded.updated_at,
              snapshot = excluded.snapshot, snapshot_seq = excluded.snapshot_seq, last_seq = excluded.last_seq, lease_owner = excluded.lease_owner,
              lease_until = excluded.lease_until, epoch = excluded.epoch, metadata = coalesce(excluded.metadata, j.metadata), waiting = excluded.waiting;
            IF p_drops[i] THEN DELETE FROM ${s}.job_log l WHERE l.job_id = p_job[i]; END IF;
          ELSE
            UPDATE ${s}.jobs j SET flow_id = p_flow[i], status = p_status[i], updated_at = p_updated[i], last_seq = p_last[i],
              lease_owner = CASE WHEN p_status[i] = 'running' THEN p_owner END, lease_until = CASE WHEN p_status[i] = 'running' THEN p_until END,
              epoch = new_epoch, metadata = coalesce(p_metadata[i]::jsonb, j.metadata), waiting = p_waiting[i]
            WHERE j.job_id = p_job[i];
          END IF;
        END LOOP;
        INSERT INTO ${s}.job_log (job_id, seq, data)
          SELECT p_job[l.part], l.seq, l.data FROM unnest(p_log_part, p_log_seq, p_log_data) AS l(part, seq, data) WHERE l.part = ANY(accepted);
      END
      $fn$;
    `,
  },
];

/** The schema version this release writes. @internal */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the store's schema up to {@link SCHEMA_VERSION} in one transaction, under an advisory
 * lock (so processes starting together migrate once): creates it when missing, applies what it
 * lacks, and refuses a schema from a newer routilux or one that holds another application's tables.
 * @internal
 */
export async function migrate(client: PoolClient, schema: string, where: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1)::bigint)", [`routilux:${schema}`]);
    const tables = (await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", [schema],
    )).rows.map((r) => r.name);
    let current = 0;
    if (tables.includes("migrations")) {
      const row = (await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${schema}.migrations`)).rows[0];
      current = row?.v ?? 0;
    } else if (tables.length > 0) {
      throw new StoreError(`${where}: schema '${schema}' holds other tables (${tables.join(", ")}), not a routilux job store; choose another \`schema\``);
    }
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `${where} has schema version ${current}, newer than this routilux reads (${SCHEMA_VERSION}); upgrade routilux, or give the store another \`schema\``,
      );
    }
    if (current === 0) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql(schema));
      await client.query(`INSERT INTO ${schema}.migrations (version) VALUES ($1)`, [migration.version]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
