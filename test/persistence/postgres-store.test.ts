// The PostgreSQL store's own promises: a database it cannot use (a malformed URL, a server that
// refuses, a missing database, a schema from a newer routilux or another application) gives one
// StoreError naming it; the schema is migrated once even when processes start together; a job
// handed back by its owner wakes those who watch the store.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresJobStore, RoutiluxError, StoreError, type JobStore } from "../../src/index.js";
import { createTestDatabase, databaseUrl, sql } from "../fixtures/postgres.js";

let url = "";
let drop: (() => Promise<void>) | undefined;
const stores: JobStore[] = [];
let next = 0;

beforeAll(async () => {
  const db = await createTestDatabase();
  url = db.url;
  drop = db.drop;
});

afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await drop?.();
});

function open(options: Partial<ConstructorParameters<typeof PostgresJobStore>[0]> = {}): PostgresJobStore {
  const store = new PostgresJobStore({ connectionString: url, schema: `own_${next++}`, ...options });
  stores.push(store);
  return store;
}

describe("a database the PostgreSQL store cannot use", () => {
  it("a malformed connection string is refused at once, naming it without its password", () => {
    for (const bad of ["", "not a url", "mysql://root@localhost/db", "postgres://user:secret@/db"]) {
      let error: unknown;
      try {
        new PostgresJobStore({ connectionString: bad });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toMatch(/Invalid PostgreSQL connection string/);
      expect((error as Error).message).not.toContain("secret");
    }
    expect(() => new PostgresJobStore({ connectionString: url, schema: "Bad-Name" })).toThrow(RoutiluxError);
  });

  it("a server that refuses the connection fails every call with a StoreError that says so", async () => {
    const store = open({ connectionString: "postgres://postgres@127.0.0.1:1/none", connectTimeoutMs: 2000 });
    await expect(store.ready()).rejects.toThrow(StoreError);
    await expect(store.ready()).rejects.toThrow(/127\.0\.0\.1:1.*refused the connection/);
    await expect(store.listJobs()).rejects.toThrow(/refused the connection/);
    await store.close();
  });

  it("a database that does not exist is named in the StoreError", async () => {
    const store = open({ connectionString: databaseUrl("routilux_no_such_database") });
    await expect(store.ready()).rejects.toThrow(/routilux_no_such_database.*does not exist/);
  });

  it("a schema written by a newer routilux is refused, and nothing is changed", async () => {
    const store = open();
    await store.ready();
    await sql(url, `INSERT INTO ${store.schema}.migrations (version) VALUES (99)`);
    const again = open({ schema: store.schema });
    await expect(again.ready()).rejects.toThrow(/schema version 99, newer than this routilux reads \(2\)/);
    const versions = await sql(url, `SELECT version FROM ${store.schema}.migrations ORDER BY version`);
    expect(versions.rows.map((r: { version: number }) => r.version)).toEqual([1, 2, 99]);
  });

  it("a schema holding another application's tables is refused", async () => {
    await sql(url, "CREATE SCHEMA someone_else; CREATE TABLE someone_else.orders (id int)");
    const store = open({ schema: "someone_else" });
    await expect(store.ready()).rejects.toThrow(/schema 'someone_else' holds other tables \(orders\), not a routilux job store/);
  });
});

describe("the PostgreSQL store's schema and wake-ups", () => {
  it("stores opened together migrate the schema once, under the advisory lock", async () => {
    const schema = `together_${next++}`;
    const many = Array.from({ length: 5 }, () => open({ schema }));
    await Promise.all(many.map((s) => s.ready()));
    const versions = await sql(url, `SELECT version FROM ${schema}.migrations`);
    expect(versions.rows).toHaveLength(2);
  });

  it("a running job whose lease is released wakes the store's watchers, in another process's store too", async () => {
    const store = open();
    await store.ready();
    const watcher = open({ schema: store.schema });
    const woken: string[] = [];
    const stop = watcher.watchJobs((flowId) => woken.push(flowId));
    const now = Date.now();
    const snapshot = JSON.stringify({
      base: 1, id: "j", f: "f", s: "running", u: now, n: 1, j: { ca: now, m: {}, ck: null, to: null, rm: 0 },
      p: [], h: [], o: [], l: [], pp: [], d: [], r: [], b: [], e: [],
    });
    // The listener connects in the background: release until a wake-up comes.
    for (let i = 0; i < 50 && woken.length === 0; i++) {
      if (i === 0) {
        await store.commit({
          owner: "A", nowMs: now, leaseUntilMs: now + 60_000,
          jobs: [{ jobId: "j", flowId: "f", status: "running", createdAtMs: now, updatedAtMs: now, previousSeq: 0, epoch: 0, acquire: true, snapshot: { seq: 1, data: snapshot }, commits: [] }],
        });
      } else {
        await store.commit({ owner: "A", nowMs: Date.now(), leaseUntilMs: Date.now() + 60_000, jobs: [] });
        await store.claimJobs({ flowId: "f", owner: "A", nowMs: Date.now(), leaseUntilMs: Date.now() + 60_000 });
      }
      await store.releaseLeases("A");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stop();
    expect(woken[0]).toBe("f");
  });
});
