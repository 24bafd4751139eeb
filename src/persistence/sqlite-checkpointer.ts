import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/** How often the background connection copies the WAL into the database file. */
const CHECKPOINT_EVERY_MS = 100;
/** A WAL longer than this (frames of 4 KiB) is checkpointed with RESTART, briefly holding writers, so it cannot grow without bound. */
const RESTART_FRAMES = 16_384;

// Plain CommonJS run with `eval`, so it needs no loader: it requires better-sqlite3 by absolute path.
const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.modulePath);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
const timer = setInterval(() => {
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)");
    if (result && result.log > workerData.restartFrames) db.pragma("wal_checkpoint(RESTART)");
  } catch {
    // Busy or failing now: the next round tries again; the main connection reports real failures.
  }
}, workerData.everyMs);
parentPort.once("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Runs the store's WAL checkpoints on a second connection in a worker thread, so their fsyncs
 * never stall a group commit (they cost several times a commit on a busy disk). Started by the
 * first commit; while it runs, the main connection's automatic checkpoints are off. If the
 * worker cannot start or dies, automatic checkpoints come back on.
 * @internal
 */
export class Checkpointer {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  #worker: Worker | undefined;
  #started = false;

  constructor(db: Database.Database, path: string, busyTimeoutMs: number) {
    this.#db = db;
    this.#path = path;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  /** Starts the worker once; later calls do nothing. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    try {
      const modulePath = createRequire(import.meta.url).resolve("better-sqlite3");
      const worker = new Worker(WORKER_CODE, {
        eval: true,
        workerData: {
          modulePath,
          path: this.#path,
          busyTimeoutMs: this.#busyTimeoutMs,
          everyMs: CHECKPOINT_EVERY_MS,
          restartFrames: RESTART_FRAMES,
        },
      });
      worker.unref();
      worker.on("error", () => this.#fallBack(worker));
      worker.on("exit", () => this.#fallBack(worker));
      this.#worker = worker;
      this.#db.pragma("wal_autocheckpoint = 0");
    } catch {
      this.#worker = undefined;
    }
  }

  /** Stops the worker and waits for it to close its connection. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    // Held while it closes: an unref'd worker would let the process end with close() unsettled.
    worker.ref();
    worker.postMessage("stop");
    await exited;
  }

  #fallBack(worker: Worker): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    if (this.#db.open) this.#db.pragma("wal_autocheckpoint = 1000");
  }
}
