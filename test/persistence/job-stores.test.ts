// Every store passes the shared conformance suite.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryJobStore, SqliteJobStore } from "../../src/index.js";
import { describeJobStore } from "./job-store-conformance.js";

describeJobStore("MemoryJobStore", (options) => ({ store: new MemoryJobStore(options) }));

describeJobStore("SqliteJobStore", (options) => {
  const folder = mkdtempSync(join(tmpdir(), "routilux-store-"));
  const path = join(folder, "jobs.db");
  return {
    store: new SqliteJobStore({ path, ...options }),
    reopen: () => new SqliteJobStore({ path, ...options }),
    dispose: () => rmSync(folder, { recursive: true, force: true }),
  };
}, { reopens: true });
