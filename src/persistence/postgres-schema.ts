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
