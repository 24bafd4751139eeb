/**
 * Guide: "Best Practices", 4. Cross-Host Execution, as two real processes.
 *
 * Host A executes a job, pauses it ("Transfer to Host B") and writes two documents: the flow's
 * structure (`flow.serialize()`) and the job's state (`jobState.serialize()`); they are
 * separate, since a flow document never holds job state. Host B, a new process, rebuilds the
 * flow with `Flow.deserialize` (its routine classes registered in `defaultRegistry`), loads
 * the job and resumes it to the end. This runner starts examples/cross-host/host-a.ts, then
 * host-b.ts, each as its own Node process, sharing only a temporary directory.
 *
 * Run: npx tsx examples/16-cross-host.ts
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("./cross-host/", import.meta.url));
const TIMEOUT_MS = 60_000; // a safety net against a hung host, not a performance limit

/** Runs one host script in a child process with the same Node options (the tsx loader). */
function runHost(name: string, dir: string): Promise<{ failure: string | undefined; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...process.execArgv, join(here, `${name}.ts`), dir],
      { env: { ...process.env, ROUTILUX_HOST: name }, timeout: TIMEOUT_MS },
      (error, stdout, stderr) => {
        const failure = error === null ? undefined : error.killed ? `killed after ${TIMEOUT_MS} ms` : `exit code ${String(error.code)}`;
        resolve({ failure, stdout, stderr });
      },
    );
  });
}

const dir = await mkdtemp(join(tmpdir(), "routilux-cross-host-"));
try {
  for (const host of ["host-a", "host-b"]) {
    const { failure, stdout, stderr } = await runHost(host, dir);
    for (const line of stdout.trimEnd().split("\n")) if (line !== "") console.log(`[${host}] ${line}`);
    if (failure !== undefined) {
      console.error(`${host} failed (${failure}):\n${stderr}`);
      process.exitCode = 1;
      break;
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
