import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/** How often the background connections copy the WAL into the database file. */
const CHECKPOINT_EVERY_MS = 100;
/** A WAL longer than this (frames of 4 KiB) is checkpointed with RESTART, briefly holding writers, so it cannot grow without bound. */
const RESTART_FRAMES = 16_384;
/**
 * The checkpoint thread outlives its last store by this long, so that a store opened right after
 * another closed (tests, short runs, a store reopened) does not start a thread again: starting one
 * costs tens of milliseconds of CPU, more than many group commits.
 */
const LINGER_MS = 1000;

// Plain CommonJS run with `eval`, so it needs no loader: it requires better-sqlite3 by absolute path.
// It holds one connection per store of this process and checkpoints each in turn.
const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.modulePath);
const dbs = new Map();
const timer = setInterval(() => {
  for (const db of dbs.values()) {
    try {
      const [result] = db.pragma("wal_checkpoint(PASSIVE)");
      if (result && result.log > workerData.restartFrames) db.pragma("wal_checkpoint(RESTART)");
    } catch {
      // Busy or failing now: the next round tries again; the main connection reports real failures.
    }
  }
}, workerData.everyMs);
parentPort.on("message", (message) => {
  if (message.type === "open") {
    try {
      dbs.set(message.id, new Database(message.path, { timeout: message.busyTimeoutMs }));
    } catch {
      parentPort.postMessage({ type: "failed", id: message.id });
    }
  } else if (message.type === "close") {
    const db = dbs.get(message.id);
    dbs.delete(message.id);
    try {
      db?.close();
    } finally {
      parentPort.postMessage({ type: "closed", id: message.id });
    }
  } else {
    clearInterval(timer);
    for (const db of dbs.values()) db.close();
    parentPort.close();
  }
});
`;

/** What the thread tells the main thread about one store's connection. */
interface ThreadMessage {
  readonly type: "failed" | "closed";
  readonly id: number;
}

/** A store's part in the checkpoint thread: told when its checkpoints can no longer run there. */
interface Member {
  fallBack(): void;
}

/**
 * The one checkpoint thread of this process, shared by its SQLite stores: made on first use,
 * ended a moment after its last store leaves. If it cannot start or dies, each store's own
 * connection checkpoints again.
 */
class CheckpointThread {
  static #current: CheckpointThread | undefined;
  static #nextId = 1;
  readonly #worker: Worker;
  readonly #members = new Map<number, Member>();
  /** Stores waiting for the thread to close their connection. */
  readonly #leaving = new Map<number, () => void>();
  #linger: ReturnType<typeof setTimeout> | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.unref();
    worker.on("message", (message: ThreadMessage) => this.#onMessage(message));
    worker.on("error", () => this.#ended());
    worker.on("exit", () => this.#ended());
  }

  /** Adds a store: its id in the thread, or undefined when no thread can run. */
  static join(member: Member, path: string, busyTimeoutMs: number): { thread: CheckpointThread; id: number } | undefined {
    let thread = CheckpointThread.#current;
    if (thread === undefined) {
      try {
        const modulePath = createRequire(import.meta.url).resolve("better-sqlite3");
        thread = new CheckpointThread(new Worker(WORKER_CODE, {
          eval: true,
          workerData: { modulePath, everyMs: CHECKPOINT_EVERY_MS, restartFrames: RESTART_FRAMES },
        }));
      } catch {
        return undefined;
      }
      CheckpointThread.#current = thread;
    }
    const id = CheckpointThread.#nextId++;
    thread.#add(id, member, path, busyTimeoutMs);
    return { thread, id };
  }

  #add(id: number, member: Member, path: string, busyTimeoutMs: number): void {
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#linger = undefined;
    this.#members.set(id, member);
    this.#worker.postMessage({ type: "open", id, path, busyTimeoutMs });
  }

  /** Takes a store out: resolves once the thread's connection to it is closed (or the thread has ended). */
  leave(id: number): Promise<void> {
    if (!this.#members.delete(id)) return Promise.resolve();
    // Held while it closes: an unref'd thread would let the process end with close() unsettled.
    this.#worker.ref();
    const closed = new Promise<void>((resolve) => this.#leaving.set(id, resolve));
    this.#worker.postMessage({ type: "close", id });
    return closed;
  }

  #onMessage(message: ThreadMessage): void {
    if (message.type === "failed") {
      const member = this.#members.get(message.id);
      this.#members.delete(message.id);
      member?.fallBack();
      this.#idle();
      return;
    }
    const resolve = this.#leaving.get(message.id);
    this.#leaving.delete(message.id);
    resolve?.();
    if (this.#leaving.size === 0) this.#worker.unref();
    this.#idle();
  }

  /** With no store left, the thread ends after a while unless one joins. */
  #idle(): void {
    if (this.#members.size > 0 || this.#leaving.size > 0 || this.#linger !== undefined) return;
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      if (this.#members.size > 0 || this.#leaving.size > 0) return;
      if (CheckpointThread.#current === this) CheckpointThread.#current = undefined;
      this.#worker.postMessage({ type: "end" });
    }, LINGER_MS);
    this.#linger.unref();
  }

  /** The thread is gone: its stores checkpoint on their own connections, and those leaving are done. */
  #ended(): void {
    if (CheckpointThread.#current === this) CheckpointThread.#current = undefined;
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#linger = undefined;
    const members = [...this.#members.values()];
    this.#members.clear();
    for (const member of members) member.fallBack();
    const leaving = [...this.#leaving.values()];
    this.#leaving.clear();
    for (const resolve of leaving) resolve();
  }
}

/**
 * Runs the store's WAL checkpoints on a second connection in the process's checkpoint thread, so
 * their fsyncs never stall a group commit (they cost several times a commit on a busy disk).
 * Started by the first commit; while it runs, the main connection's automatic checkpoints are off.
 * If the thread cannot start or dies, automatic checkpoints come back on.
 * @internal
 */
export class Checkpointer {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  #membership: { thread: CheckpointThread; id: number } | undefined;
  #started = false;

  constructor(db: Database.Database, path: string, busyTimeoutMs: number) {
    this.#db = db;
    this.#path = path;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  /** Starts the store's checkpoints once; later calls do nothing. */
  start(): void {
    if (this.#started || !this.#db.open) return;
    this.#started = true;
    this.#membership = CheckpointThread.join({ fallBack: () => this.#fallBack() }, this.#path, this.#busyTimeoutMs);
    if (this.#membership !== undefined) this.#db.pragma("wal_autocheckpoint = 0");
  }

  /** Stops the store's checkpoints and waits for the thread to close its connection. */
  async stop(): Promise<void> {
    const membership = this.#membership;
    this.#membership = undefined;
    if (membership !== undefined) await membership.thread.leave(membership.id);
  }

  #fallBack(): void {
    if (this.#membership === undefined) return;
    this.#membership = undefined;
    if (this.#db.open) this.#db.pragma("wal_autocheckpoint = 1000");
  }
}
