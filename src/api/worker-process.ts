import type { JobStore } from "../persistence/job-store.js";
import { Worker, type WorkerEvent, type WorkerOptions } from "./worker.js";

/** Options of {@link runWorkerProcess}. */
export interface WorkerProcessOptions extends WorkerOptions {
  /** Called with one line per job event (claimed, finished, paused, handed back, lost); default: none. */
  log?: (line: string) => void;
  /** Signals that close the worker and the store. Default SIGINT and SIGTERM. */
  signals?: readonly NodeJS.Signals[];
}

/** A worker run as a process's main work. */
export interface WorkerProcess {
  readonly worker: Worker;
  /** Resolves once a signal (or {@link WorkerProcess.stop}) has closed the worker and its store. */
  readonly stopped: Promise<void>;
  /** Closes the worker (handing back its jobs), then the store. */
  stop(): Promise<void>;
}

/**
 * Runs a {@link Worker} as the main work of a process (what `routilux worker` does): on SIGINT or
 * SIGTERM it hands back the jobs it holds and closes the store, so another worker takes them at
 * once, and the process can exit.
 *
 * @example
 * ```ts
 * // worker.ts, run on every host: node worker.js
 * const store = new PostgresJobStore({ connectionString: process.env.DATABASE_URL! });
 * await store.ready();
 * runWorkerProcess({ store, flows: [buildFlow(store)], concurrency: 20, log: console.log });
 * ```
 */
export function runWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  const { log, signals = ["SIGINT", "SIGTERM"], ...workerOptions } = options;
  const worker = new Worker(workerOptions);
  const store: JobStore = workerOptions.store;
  if (log !== undefined) {
    worker.subscribe((event: WorkerEvent) => log(`${event.type} ${event.flowId}/${event.jobId} ${event.status}${event.error === undefined ? "" : `: ${event.error}`}`));
  }
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const onSignal = (): void => void stop();
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const signal of signals) process.off(signal, onSignal);
      try {
        await worker.close();
      } finally {
        await store.close();
        resolveStopped();
      }
    })();
    return stopping;
  };
  for (const signal of signals) process.on(signal, onSignal);
  return { worker, stopped, stop };
}
