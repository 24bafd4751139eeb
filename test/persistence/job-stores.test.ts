// Every store passes the shared conformance suite.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryJobStore, SqliteJobStore } from "../../src/index.js";
import { describeJobStore } from "./job-store-conformance.js";

describeJobStore("MemoryJobStore", () => ({ store: new MemoryJobStore() }));

describeJobStore("SqliteJobStore", () => {
  const folder = mkdtempSync(join(tmpdir(), "routilux-store-"));
  const path = join(folder, "jobs.db");
  return {
    store: new SqliteJobStore({ path }),
    reopen: () => new SqliteJobStore({ path }),
    dispose: () => rmSync(folder, { recursive: true, force: true }),
  };
}, { reopens: true });
