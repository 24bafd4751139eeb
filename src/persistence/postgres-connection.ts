// How the PostgreSQL store connects: its options and their checks, the pool's settings (bigint
// columns as numbers, synchronous_commit), and driver or server errors as StoreErrors that name
// the database and say what to do.
import pg from "pg";
import { RoutiluxError, StoreError, describeError, showValue } from "../core/errors.js";
import { DEFAULT_LEASE_MS } from "./job-store.js";
import { checkMs } from "./store-common.js";

/** Options of a {@link PostgresJobStore}. */
export interface PostgresJobStoreOptions {
  /** Where the database is: `postgres://user:password@host:5432/database` (`postgresql://` too). */
  connectionString: string;
  /**
   * The PostgreSQL schema (namespace) that holds the store's tables; created when missing.
   * Several stores can share a database under different schemas. Default `routilux`.
   */
  schema?: string;
  /** How long a lease on a running job lasts without renewal. Default 15,000 ms. */
  leaseMs?: number;
  /** At most this many connections to the server. Default 4. */
  poolSize?: number;
  /** How long to wait for a connection before failing with a StoreError. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL's `synchronous_commit` for the store's connections. `"off"` (default, like the
   * SQLite store's `synchronous: "normal"`): a group commit counts once the server has it; it
   * survives the routilux process being killed at any point and the server restarting cleanly, but
   * a crash of the server's machine may lose the last fraction of a second of commits (the
   * database stays consistent). `"on"`: a group commit counts once the server has flushed it to
   * disk, so it also survives the server's machine losing power, at a fraction of the throughput
   * for jobs awaited one by one.
   */
  synchronousCommit?: "on" | "off";
}

/** bigint columns (sequence numbers, epochs) as JavaScript numbers: they stay far below 2^53. */
const parseBigint = (value: string): number => Number(value);
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary"): unknown => oid === 20
    ? parseBigint
    : pg.types.getTypeParser(oid, format) as unknown) as pg.CustomTypesConfig["getTypeParser"],
};

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,47}$/;

/** A store's settings, checked: what the store keeps and what its connections are made with. @internal */
export interface PostgresConnection {
  readonly schema: string;
  readonly leaseMs: number;
  /** Names the store in messages (the connection string without its password, and the schema). */
  readonly where: string;
  /** The pool's settings. */
  readonly pool: pg.PoolConfig;
  /** The settings of the connection that listens for wake-ups. */
  readonly watch: pg.ClientConfig;
}

/** Checks a store's options; throws a RoutiluxError for a bad option, a StoreError for a malformed connection string. @internal */
export function connectionOf(options: PostgresJobStoreOptions): PostgresConnection {
  if (typeof options !== "object" || options === null) {
    throw new RoutiluxError(`Expected PostgresJobStore options to be an object, got ${showValue(options)}`);
  }
  const { connectionString } = options;
  const url = parseUrl(connectionString);
  const schema = options.schema ?? "routilux";
  if (typeof schema !== "string" || !IDENTIFIER.test(schema)) {
    throw new RoutiluxError(`Expected \`schema\` to be a lower-case SQL identifier (letters, digits, _), got ${showValue(schema)}`);
  }
  const poolSize = options.poolSize ?? 4;
  if (typeof poolSize !== "number" || !Number.isInteger(poolSize) || poolSize < 1) {
    throw new RoutiluxError(`Expected \`poolSize\` to be an integer from 1 and up, got ${showValue(poolSize)}`);
  }
  const leaseMs = checkMs(options.leaseMs, "leaseMs", DEFAULT_LEASE_MS);
  const connectTimeoutMs = checkMs(options.connectTimeoutMs, "connectTimeoutMs", 5000);
  const where = `PostgreSQL job store '${url}' (schema ${schema})`;
  const synchronousCommit = options.synchronousCommit ?? "off";
  if (synchronousCommit !== "on" && synchronousCommit !== "off") {
    throw new RoutiluxError(`Expected \`synchronousCommit\` to be "on" or "off", got ${showValue(synchronousCommit)}`);
  }
  const pool: pg.PoolConfig = {
    connectionString, max: poolSize, connectionTimeoutMillis: connectTimeoutMs, types: TYPES, application_name: "routilux",
    options: `-c synchronous_commit=${synchronousCommit}`,
  };
  const watch: pg.ClientConfig = { connectionString, connectionTimeoutMillis: connectTimeoutMs, application_name: "routilux" };
  return { schema, leaseMs, where, pool, watch };
}

/** A driver or server error as a StoreError that names the database (`where`) and says what to do. @internal */
export function storeFailure(where: string, operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown }).code;
  const message = describeError(error).message;
  const detail = `${typeof code === "string" ? `${code}: ` : ""}${message}`;
  const w = where;
  const hint = typeof code === "string" ? HINTS[code] : /timeout/i.test(message) ? "the server did not answer in time (connectTimeoutMs)" : undefined;
  return new StoreError(`${w} failed to ${operation}${hint === undefined ? "" : `: ${hint}`} (${detail})`, { cause: error });

}

/** What to tell the user for the driver and server errors one can act on. */
const HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "the server refused the connection; is PostgreSQL running and listening at that host and port?",
  ENOTFOUND: "no such host; check the host name in the connection string",
  EAI_AGAIN: "the host name could not be resolved; check the host name in the connection string",
  ECONNRESET: "the server closed the connection",
  "3D000": "the database does not exist; create it (createdb) or fix the connection string",
  "28P01": "authentication failed; check the user and password in the connection string",
  "28000": "the server refused this user; check the user in the connection string and the server's pg_hba.conf",
  "42501": "permission denied; the user needs rights to create and write the store's schema",
  "57P01": "the server is shutting down",
  "53300": "the server has too many connections; lower poolSize or raise max_connections",
};

/** The connection string as shown in messages (no password); throws a StoreError when it is not a PostgreSQL URL. */
function parseUrl(connectionString: unknown): string {
  const bad = (why: string): StoreError => new StoreError(
    `Invalid PostgreSQL connection string ${typeof connectionString === "string" ? showValue(connectionString.replace(/:[^:@/]*@/, ":***@")) : showValue(connectionString)}: ` +
    `${why}; expected postgres://user:password@host:5432/database`,
  );
  if (typeof connectionString !== "string" || connectionString.length === 0) throw bad("`connectionString` must be a non-empty string");
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw bad("it is not a URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw bad(`the scheme is '${url.protocol.slice(0, -1)}', not postgres`);
  if (url.hostname === "" && !url.searchParams.has("host")) throw bad("it names no host");
  const user = url.username === "" ? "" : `${decodeURIComponent(url.username)}@`;
  return `${url.protocol}//${user}${url.host}${url.pathname}`;
}
