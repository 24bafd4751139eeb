// Keeping the leases of the jobs a process holds in a store, and taking the control requests that
// other processes send for them through the store.
import { outsideContext } from "../core/context.js";
import { StoreError, describeError } from "../core/errors.js";
import type { JobCommand } from "../state/journal.js";
import type { JobLog } from "./job-log.js";
import type { JobStore } from "./job-store.js";

/** How often a process looks for control requests other processes sent for the jobs it holds. */
const COMMAND_POLL_MS = 100;

/** What the lease keeper needs from the journal whose jobs it keeps. @internal */
export interface LeaseHost {
  readonly store: JobStore;
  /** The lease owner id of this process's journal. */
  readonly owner: string;
  /** The jobs the journal persists, by id. */
  readonly logs: ReadonlyMap<string, JobLog>;
  /** The job is lost to this process (its lease was taken). */
  lose(log: JobLog, error: Error): void;
}

/** Whether this process holds a job's lease in the store now: it runs here, or its own handler's pause is not stored yet. */
function leased(log: JobLog): boolean {
  return log.job.status === "running" || (log.job.status === "paused" && log.data.holds > 0);
}

/**
 * Renews the leases of the jobs a journal holds at a third of the store's `leaseMs`, and stops a
 * job at once when its lease is found taken; takes the control requests other processes sent for
 * those jobs and applies each through the job's engine.
 * @internal
 */
export class LeaseKeeper {
  readonly #host: LeaseHost;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #commandTimer: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  #stopped = false;

  constructor(host: LeaseHost) {
    this.#host = host;
  }

  /** Starts renewing leases and taking control requests, once; after `stop()`, never again. */
  start(): void {
    if (this.#renewTimer !== undefined || this.#stopped) return;
    const leaseMs = this.#host.store.leaseMs;
    this.#renewTimer = outsideContext(() => setInterval(() => void this.renew(), Math.max(10, Math.floor(leaseMs / 3))));
    this.#renewTimer.unref();
    this.#commandTimer = outsideContext(() => setInterval(() => void this.#pollCommands(), COMMAND_POLL_MS));
    this.#commandTimer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#renewTimer !== undefined) clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
    if (this.#commandTimer !== undefined) clearInterval(this.#commandTimer);
    this.#commandTimer = undefined;
  }

  /** Takes the control requests other processes sent for jobs held here, and applies each through its engine. */
  async #pollCommands(): Promise<void> {
    const { store, owner, logs } = this.#host;
    if (this.#polling || logs.size === 0) return;
    const held: string[] = [];
    for (const [jobId, log] of logs) if (!log.handingBack) held.push(jobId);
    if (held.length === 0) return;
    this.#polling = true;
    let commands: JobCommand[];
    try {
      commands = await store.takeCommands(owner, held);
    } catch {
      return; // the store fails now: the next poll tries again
    } finally {
      this.#polling = false;
    }
    for (const command of commands) {
      const log = logs.get(command.jobId);
      const applied = log?.owner === undefined
        ? Promise.reject(new StoreError(`Job '${command.jobId}' is no longer held by this process`))
        : log.owner.command(command);
      applied.then(
        () => store.finishCommand(command.id, { ok: true }),
        (error: unknown) => store.finishCommand(command.id, { ok: false, error: describeError(error).message }),
      ).catch(() => undefined);
    }
  }

  /**
   * Extends the leases of the jobs running here; a job whose lease was taken is lost at once. Those
   * waiting for a lease to be confirmed (`confirmLease`) are told; when the store cannot be reached
   * they wait for the next renewal.
   */
  async renew(): Promise<void> {
    const { store, owner, logs: byId } = this.#host;
    const held: Array<{ jobId: string; epoch: number }> = [];
    const logs: JobLog[] = [];
    for (const [jobId, log] of byId) {
      if (!log.acquire && leased(log) && log.durableSeq > 0) {
        held.push({ jobId, epoch: log.epoch });
        logs.push(log);
      }
    }
    if (held.length === 0) return;
    const leaseUntilMs = Date.now() + store.leaseMs;
    let gone: string[];
    try {
      gone = await store.renewLeases(owner, leaseUntilMs, held);
    } catch {
      return; // the store fails now: commits report it
    }
    const lost = new Set(gone);
    for (let i = 0; i < logs.length; i++) {
      const log = logs[i]!;
      const jobId = log.job.jobId;
      if (!lost.has(jobId)) {
        if (log.lost === undefined && log.epoch === held[i]!.epoch) log.leased(leaseUntilMs);
      } else if (byId.get(jobId) === log && leased(log)) {
        this.#host.lose(log, new StoreError(`The lease of job '${jobId}' in ${String(store)} was taken by another process; this process stops the job`));
      }
    }
  }
}
