// The SQLite store's file: the schema a new store gets, the migrations that bring an older one up
// to date, the opening checks that refuse a file the store cannot trust, and what a database
// error means for the store.
import type Database from "better-sqlite3";
import { StoreError, describeError } from "../core/errors.js";
import type { JobRowColumns } from "./store-common.js";

/** The schema this release writes, kept in `PRAGMA user_version`. */
const SCHEMA_VERSION = 3;

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

/** A row of table `jobs`, as `SELECT *` (plus its rowid) reads it. @internal */
export interface JobRow extends JobRowColumns {
  metadata: string;
  rowid: number;
}

/**
 * Checks the file's schema version, switches to WAL, and creates or migrates the tables.
 * @internal
 */
export function openSchema(db: Database.Database, synchronous: "normal" | "full", where: string): void {
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

/**
 * A database error as a StoreError that names the store (`where`) and says what to do.
 * @internal
 */
export function databaseFailure(where: string, busyTimeoutMs: number, operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown }).code;
  const detail = `${typeof code === "string" ? `${code}: ` : ""}${describeError(error).message}`;
  if (typeof code === "string" && (code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT"))) {
    return new StoreError(
      `${where} is corrupt or not a SQLite database (${detail}); routilux never starts over an unreadable store: ` +
      "restore the file from a backup, or move it aside to start with an empty store",
      { cause: error },
    );
  }
  if (typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))) {
    return new StoreError(
      `${where} is locked by another connection (${detail}); waited ${busyTimeoutMs} ms (busyTimeoutMs) to ${operation}`,
      { cause: error },
    );
  }
  return new StoreError(`${where} failed to ${operation}: ${detail}`, { cause: error });
}
