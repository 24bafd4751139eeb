// The PostgreSQL server of the distributed workloads: ROUTILUX_BENCH_PG, default
// postgres://postgres@127.0.0.1:5432/postgres. Each run gets a database of its own, dropped after.
import { randomUUID } from "node:crypto";
import pg from "pg";

const ADMIN_URL = process.env.ROUTILUX_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Why PostgreSQL cannot be used (the workloads then skip), or undefined when it answers. */
export async function postgresUnavailable(): Promise<string | undefined> {
  try {
    await admin("SELECT 1");
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${ADMIN_URL.replace(/:[^:@/]*@/, ":***@")} is unreachable (${error instanceof Error ? error.message : String(error)}); set ROUTILUX_BENCH_PG`;
  }
}

/** Runs `fn` with the URL of a new, empty database, and drops it after. */
export async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `routilux_bench_${process.pid}_${randomUUID().slice(0, 8)}`;
  await admin(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
