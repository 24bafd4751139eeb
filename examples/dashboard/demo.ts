/**
 * `npm run demo:dashboard`: the HTTP API and dashboard with live demo jobs, on a SQLite store in
 * ./.routilux/dashboard-demo.db. Prints the address; stop it with Ctrl-C.
 *
 * Two flows: `document-review` (a flaky step that is retried, then a person's decision, asked
 * for with a form built from the slot's schema) and `research-agent` (from the flow file
 * examples/flows/agent.yaml: two model personas in parallel, a join, then a HumanInput approval).
 * A new review job starts every few seconds; every other one waits for a decision.
 *
 * Options: --port 8080 (0 picks a free one), --host 127.0.0.1, --token T, --read-only.
 */
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SqliteJobStore, loadFlowFile } from "../../src/index.js";
import { startServer } from "../../src/server/index.js";
import { exampleRegistry } from "../flows/routines.js";
import { reviewFlow } from "./review-flow.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    token: { type: "string" },
    "read-only": { type: "boolean", default: false },
    "every-ms": { type: "string", default: "6000" },
  },
});

const path = "./.routilux/dashboard-demo.db";
await rm(path, { force: true });
const store = new SqliteJobStore({ path });
const review = reviewFlow(store);
const agent = await loadFlowFile(fileURLToPath(new URL("../flows/agent.yaml", import.meta.url)), exampleRegistry(), { store });

const server = await startServer({
  flows: [review, agent],
  store,
  host: values.host,
  port: Number(values.port),
  readOnly: values["read-only"],
  ...(values.token === undefined ? {} : { token: values.token }),
});

let count = 0;
async function startJobs(): Promise<void> {
  count++;
  await review.start("ingest", { entryParams: { review: count % 2 === 1 }, metadata: { demo: count } });
  if (count % 3 === 1) await agent.start("plan", { entryParams: { topic: "TypeScript", audience: "engineers" } });
}
await startJobs();
const timer = setInterval(() => void startJobs().catch((error: unknown) => console.error(error)), Number(values["every-ms"]));

console.log(`routilux dashboard: ${server.url}`);
console.log(`  flows: document-review, research-agent; store: ${path}`);
console.log("  a review job starts every few seconds; every other one waits for a decision. Ctrl-C stops.");

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await server.close();
  await Promise.all([review.shutdown({ graceMs: 1000 }), agent.shutdown({ graceMs: 1000 })]);
  await store.close();
}
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
