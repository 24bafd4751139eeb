// Worker processes for the distributed workloads.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./worker-process.js", import.meta.url));

/** A worker process and the count of its "claimed" and "finished" lines. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  claimed: number;
  finished: number;
  onLine?: () => void;
}

export function startWorker(url: string, kind: "chain" | "hold", concurrency: number, leaseMs: number): WorkerProcess {
  const child = spawn(process.execPath, [SCRIPT, url, kind, String(concurrency), String(leaseMs)], { stdio: ["pipe", "pipe", "inherit"] });
  let markReady!: () => void;
  const proc: WorkerProcess = { child, ready: new Promise((resolve) => (markReady = resolve)), claimed: 0, finished: 0 };
  let rest = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      if (line === "ready") markReady();
      else if (line === "claimed") proc.claimed++;
      else if (line === "finished") proc.finished++;
    }
    proc.onLine?.();
  });
  return proc;
}

export function go(proc: WorkerProcess): void {
  proc.child.stdin!.write("go\n");
}

/** Stops a worker process (SIGKILL when it has not exited after a second). */
export async function stop(proc: WorkerProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.child.once("exit", () => resolve()));
  proc.child.kill("SIGCONT");
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 1000);
  await exited;
  clearTimeout(timer);
}
