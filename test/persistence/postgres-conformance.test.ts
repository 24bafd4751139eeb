// The PostgreSQL store passes the shared conformance suite, each test in a schema of its own in a
// database made for this file (and dropped after it).
import { afterAll, beforeAll } from "vitest";
import { PostgresJobStore } from "../../src/index.js";
import { createTestDatabase, sql } from "../fixtures/postgres.js";
import { describeJobStore } from "./job-store-conformance.js";

let url = "";
let drop: (() => Promise<void>) | undefined;
let next = 0;

beforeAll(async () => {
  const db = await createTestDatabase();
  url = db.url;
  drop = db.drop;
});

afterAll(async () => {
  await drop?.();
});

describeJobStore("PostgresJobStore", (options) => {
  const schema = `conformance_${next++}`;
  const open = (): PostgresJobStore => new PostgresJobStore({ connectionString: url, schema, ...options });
  return {
    store: open(),
    reopen: open,
    dispose: async () => {
      await sql(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}, { reopens: true });
