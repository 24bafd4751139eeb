// A worker process of the distributed workloads (compiled, run with node):
//   worker-process.js <url> <flow: chain|hold> <concurrency> <leaseMs>
// Opens the store, prints "ready", waits for "go" on stdin, then runs a Worker and prints
// "claimed" and "finished" per job. Stops on SIGTERM.
import { createInterface } from "node:readline";
import { PostgresJobStore, Worker } from "../../../src/index.js";
import { buildChainFlow } from "../chain10-x-jobs.js";
import { holdFlow } from "./flows.js";

const [url, kind, concurrency, leaseMs] = process.argv.slice(2);
const store = new PostgresJobStore({ connectionString: url!, leaseMs: Number(leaseMs) });
await store.ready();
const flow = kind === "hold" ? holdFlow(store) : buildChainFlow({ flowId: "dist_chain", store, maxWorkers: 256 });
process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== "go") continue;
  const worker = new Worker({ store, flows: [flow], concurrency: Number(concurrency) });
  worker.subscribe((event) => {
    if (event.type === "claimed" || event.type === "finished") process.stdout.write(`${event.type}\n`);
  });
  process.once("SIGTERM", () => void worker.close().then(() => store.close()).then(() => process.exit(0)));
  break;
}
