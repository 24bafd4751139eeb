import { outsideContext } from "../core/context.js";
import { RoutiluxError, describeError, showValue } from "../core/errors.js";
import type { JobStore } from "../persistence/job-store.js";
import type { Flow } from "./flow.js";
import type { JobState } from "./job-state.js";
import { kWorkerHost, type WorkerHost } from "./worker-host.js";

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** The flows whose jobs this worker runs (by `flowId`); each must use `store` and run jobs here (the default `runJobs`). */
  flows: readonly Flow[] | Readonly<Record<string, Flow>>;
  /** The store the jobs are in (a `PostgresJobStore` to share work between hosts). */
  store: JobStore;
  /** At most this many jobs held at once (running here; paused jobs hold no place). Default 10. */
  concurrency?: number;
  /** Per flow id, at most this many of that flow's jobs held at once (within `concurrency`). */
  flowConcurrency?: Readonly<Record<string, number>>;
  /** How often to look for jobs without a wake-up from the store. Default: a third of the store's `leaseMs`, at most 1,000 ms. */
  pollMs?: number;
  /**
   * A job held this long while the worker is full is handed back to the store (after its running
   * handlers settle), so it cannot hold a place forever while other jobs wait; the worker may take
   * it again. Default 30,000 ms.
   */
  sliceMs?: number;
}

/** What happened to a job this worker holds. */
export interface WorkerEvent {
  /**
   * `claimed`: taken from the store to run here; `finished`: it ended here (completed, failed,
   * cancelled); `paused`: it paused and was let go (a paused job holds no worker); `handed-back`:
   * its time slice was over or the worker closed; `lost`: another process took it over (its lease
   * was lost) or the store failed, and it stopped here.
   */
  readonly type: "claimed" | "finished" | "paused" | "handed-back" | "lost";
  readonly jobId: string;
  readonly flowId: string;
  /** The job's status after the event. */
  readonly status: string;
  /** Why it was lost. */
  readonly error?: string;
}

interface Held {
  readonly flowId: string;
  readonly job: JobState;
  readonly host: WorkerHost;
  readonly since: number;
  slicing: boolean;
}

function checkCount(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RoutiluxError(`Expected \`${name}\` to be an integer from 1 and up, got ${showValue(value)}`);
  }
  return value;
}

/**
 * Runs the jobs that any process started on a store (`flow.start()` with `runJobs: "workers"`,
 * or a job left by a process that died): it claims running jobs no live process holds, at most
 * `concurrency` at once, and runs each in its flow under a lease with a fencing epoch, renewed
 * while it runs. A worker that dies or stalls loses its jobs to another within the store's
 * `leaseMs`; a worker whose lease was taken stops the job (its handlers are told through
 * `ctx.signal`) and can never write it again. Paused jobs are let go (they hold no worker); an
 * answer or resume from any process hands them back to the workers. The worker is woken by the
 * store when jobs become free (PostgreSQL LISTEN/NOTIFY) and polls as well. A Worker starts
 * when constructed.
 *
 * @example
 * ```ts
 * const store = new PostgresJobStore({ connectionString: process.env.DATABASE_URL!, leaseMs: 10_000 });
 * const worker = new Worker({ flows: [makeIngestFlow(store)], store, concurrency: 20 });
 * process.on("SIGTERM", () => void worker.close().then(() => store.close()));
 * ```
 */
export class Worker {
  readonly store: JobStore;
  readonly concurrency: number;
  readonly #flows: ReadonlyArray<{ flowId: string; host: WorkerHost; limit: number }>;
  readonly #held = new Map<string, Held>();
  readonly #listeners = new Set<(event: WorkerEvent) => void>();
  readonly #pollTimer: ReturnType<typeof setInterval>;
  readonly #sliceTimer: ReturnType<typeof setInterval>;
  readonly #sliceMs: number;
  readonly #unwatch: () => void;
  #filling = false;
  #again = false;
  #next = 0;
  #closing: Promise<void> | undefined;
  /** The last claim failure, reported once per kind. */
  #lastError: string | undefined;

  constructor(options: WorkerOptions) {
    if (typeof options !== "object" || options === null) throw new RoutiluxError(`Expected Worker options to be an object, got ${showValue(options)}`);
    const { store } = options;
    if (typeof store !== "object" || store === null || typeof (store as Partial<JobStore>).claimJobs !== "function") {
      throw new RoutiluxError(`Expected \`store\` to be a JobStore (such as a PostgresJobStore), got ${showValue(store)}`);
    }
    this.store = store;
    this.concurrency = checkCount(options.concurrency, "concurrency", 10);
    const list = Array.isArray(options.flows) ? options.flows as readonly Flow[] : Object.values(options.flows ?? {});
    if (list.length === 0) throw new RoutiluxError("A Worker needs at least one flow in `flows`");
    const limits = options.flowConcurrency ?? {};
    const seen = new Set<string>();
    this.#flows = list.map((flow) => {
      const host = (flow as Partial<Flow>)[kWorkerHost]?.();
      if (host === undefined) throw new RoutiluxError(`Expected \`flows\` to hold Flow objects, got ${showValue(flow)}`);
      if (flow.store !== store) {
        throw new RoutiluxError(`Flow '${flow.flowId}' does not use the worker's store (${String(store)}); build it with new Flow({ store })`);
      }
      if (!host.runsJobs) throw new RoutiluxError(`Flow '${flow.flowId}' has runJobs: "workers"; a worker's flows run their jobs (leave runJobs unset)`);
      if (seen.has(flow.flowId)) throw new RoutiluxError(`Flow '${flow.flowId}' is given to the worker twice`);
      seen.add(flow.flowId);
      return { flowId: flow.flowId, host, limit: checkCount(limits[flow.flowId], `flowConcurrency.${flow.flowId}`, this.concurrency) };
    });
    for (const flowId of Object.keys(limits)) {
      if (!seen.has(flowId)) throw new RoutiluxError(`\`flowConcurrency\` names flow '${flowId}', which the worker does not run; it runs: ${[...seen].join(", ")}`);
    }
    const pollMs = options.pollMs ?? Math.min(1000, Math.max(10, Math.floor(store.leaseMs / 3)));
    if (typeof pollMs !== "number" || !(pollMs > 0)) throw new RoutiluxError(`Expected \`pollMs\` to be a number of milliseconds above 0, got ${showValue(pollMs)}`);
    this.#sliceMs = options.sliceMs ?? 30_000;
    if (typeof this.#sliceMs !== "number" || !(this.#sliceMs > 0)) {
      throw new RoutiluxError(`Expected \`sliceMs\` to be a number of milliseconds above 0, got ${showValue(this.#sliceMs)}`);
    }
    this.#pollTimer = outsideContext(() => setInterval(() => this.#fill(), pollMs));
    this.#sliceTimer = outsideContext(() => setInterval(() => this.#slice(), Math.max(10, Math.min(1000, this.#sliceMs / 4))));
    this.#sliceTimer.unref();
    this.#unwatch = store.watchJobs?.((flowId) => {
      if (seen.has(flowId)) this.#fill();
    }) ?? ((): void => undefined);
    queueMicrotask(() => this.#fill());
  }

  /** The ids of the jobs this worker holds now. */
  get heldJobIds(): string[] {
    return [...this.#held.keys()];
  }

  /** Whether {@link Worker.close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Calls `listener` with what happens to the jobs this worker holds; returns the unsubscribe function. */
  subscribe(listener: (event: WorkerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stops taking jobs and hands back those it holds: each job's running handlers settle, what they
   * did is written, and its lease is released so another worker takes it at once. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#pollTimer);
    clearInterval(this.#sliceTimer);
    this.#unwatch();
    await Promise.allSettled([...this.#held.values()].map((held) => held.host.handBack(held.job)));
    // Jobs that completed meanwhile, or were lost, are done with too.
    while (this.#held.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  #emit(event: WorkerEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** Takes jobs while there is room: flows in turn, each up to its own limit. */
  #fill(): void {
    if (this.#closing !== undefined) return;
    if (this.#filling) {
      this.#again = true;
      return;
    }
    this.#filling = true;
    void this.#fillNow().finally(() => {
      this.#filling = false;
      if (this.#again) {
        this.#again = false;
        this.#fill();
      }
    });
  }

  async #fillNow(): Promise<void> {
    const count = this.#flows.length;
    for (let i = 0; i < count && this.#closing === undefined; i++) {
      const flow = this.#flows[(this.#next + i) % count]!;
      let mine = 0;
      for (const held of this.#held.values()) if (held.flowId === flow.flowId) mine++;
      const room = Math.min(this.concurrency - this.#held.size, flow.limit - mine);
      if (this.concurrency - this.#held.size <= 0) break;
      if (room <= 0) continue;
      let jobs: JobState[];
      try {
        jobs = await flow.host.claim(room);
        this.#lastError = undefined;
      } catch (error) {
        const message = describeError(error).message;
        if (message !== this.#lastError) {
          this.#lastError = message;
          process.emitWarning(`routilux worker: claiming jobs of flow '${flow.flowId}' failed: ${message}`);
        }
        continue;
      }
      for (const job of jobs) this.#hold(flow.flowId, flow.host, job);
      // A full claim: more may wait; look again after this round.
      if (jobs.length === room) this.#again = true;
    }
    this.#next = (this.#next + 1) % count;
  }

  #hold(flowId: string, host: WorkerHost, job: JobState): void {
    const held: Held = { flowId, job, host, since: Date.now(), slicing: false };
    this.#held.set(job.jobId, held);
    this.#emit({ type: "claimed", jobId: job.jobId, flowId, status: job.status });
    void this.#follow(held);
  }

  /** Follows a held job until it leaves this worker: it ends, pauses (and is let go), is handed back, or is lost. */
  async #follow(held: Held): Promise<void> {
    const { job, flowId, host } = held;
    let event: WorkerEvent;
    for (;;) {
      let outcome: "rested" | "released";
      try {
        outcome = await host.wait(job);
      } catch (error) {
        event = { type: "lost", jobId: job.jobId, flowId, status: job.status, error: describeError(error).message };
        break;
      }
      if (outcome === "released") {
        event = { type: "handed-back", jobId: job.jobId, flowId, status: job.status };
        // A job handed back at the end of its slice waits its turn: the next claim looks at the other flows first.
        const at = this.#flows.findIndex((f) => f.flowId === flowId);
        if (at >= 0) this.#next = (at + 1) % this.#flows.length;
        break;
      }
      if (job.status === "paused") {
        let handed: boolean;
        try {
          handed = await host.handBack(job);
        } catch (error) {
          event = { type: "lost", jobId: job.jobId, flowId, status: job.status, error: describeError(error).message };
          break;
        }
        if (handed) {
          event = { type: "paused", jobId: job.jobId, flowId, status: job.status };
          break;
        }
        continue;
      }
      event = { type: "finished", jobId: job.jobId, flowId, status: job.status };
      break;
    }
    this.#held.delete(job.jobId);
    this.#emit(event);
    this.#fill();
  }

  /** While the worker (or a job's flow) is full, a job held past its slice is handed back so waiting jobs get a turn. */
  #slice(): void {
    if (this.#closing !== undefined) return;
    const full = this.#held.size >= this.concurrency;
    const perFlow = new Map<string, number>();
    for (const held of this.#held.values()) perFlow.set(held.flowId, (perFlow.get(held.flowId) ?? 0) + 1);
    const now = Date.now();
    for (const held of this.#held.values()) {
      if (held.slicing || now - held.since < this.#sliceMs) continue;
      const limit = this.#flows.find((f) => f.flowId === held.flowId)?.limit ?? this.concurrency;
      if (!full && (perFlow.get(held.flowId) ?? 0) < limit) continue;
      held.slicing = true;
      held.host.handBack(held.job).catch(() => undefined);
    }
  }
}
