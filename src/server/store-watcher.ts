import type { JobState, JobStatus, JobStore, JobSummary } from "../index.js";
import { isFinalStatus, type EventHub, type UnnumberedEvent } from "./event-hub.js";

/** What the watcher last saw of a job that has not ended. */
interface Seen {
  revision: number;
  status: JobStatus;
  updatedAtMs: number;
  /** Counts and routine states as last loaded; undefined when the job was only listed so far. */
  detail: { history: number; outputs: number; routines: Map<string, string> } | undefined;
}

const ACTIVE: JobStatus[] = ["pending", "running", "paused"];
const PAGE = 500;
/** At most this many records are made up for a job seen for the first time (its latest ones). */
const MAX_BACKLOG = 200;

/**
 * Watches a store for changes made by other processes (a worker, a `routilux run`, another
 * server) and tells the hub, as events made up from what changed: new history records, routine
 * states, outputs, then the status. Jobs whose events this process's flows report are left alone.
 * It polls: the jobs that have not ended (one listing), and the jobs created since the last poll
 * (a listing continued from where the last one stopped).
 */
export class StoreWatcher {
  readonly #store: JobStore;
  readonly #hub: EventHub;
  readonly #intervalMs: number;
  readonly #seen = new Map<string, Seen>();
  /** A cursor from which a listing returns the newest job of the last poll, then newer ones. */
  #tail: string | undefined;
  /** The job from which a listing at the tail cursor starts. */
  #tailJobId: string | undefined;
  #polledOnce = false;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;

  constructor(store: JobStore, hub: EventHub, intervalMs: number) {
    this.#store = store;
    this.#hub = hub;
    this.#intervalMs = intervalMs;
  }

  /** Starts polling: the first poll only learns where jobs stand, later ones report changes. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Stops polling and waits for a poll under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#polling;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.poll().catch((error: unknown) => {
        // A store that fails now may answer later (a locked database): report it and poll on.
        process.emitWarning(`The routilux server could not poll its job store: ${error instanceof Error ? error.message : String(error)}`, "RoutiluxWarning");
      }).finally(() => {
        this.#polling = undefined;
        this.#schedule(this.#intervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  /** One poll (the first learns where jobs stand and reports nothing). */
  async poll(): Promise<void> {
    const baseline = !this.#polledOnce;
    this.#polledOnce = true;
    const active = await this.#listAll({ status: ACTIVE });
    const previousTail = this.#tailJobId;
    // The job at the tail was listed by the last poll already.
    const created = (await this.#listCreated()).filter((s) => s.jobId !== previousTail);
    const listed = new Map<string, JobSummary>();
    for (const s of [...created, ...active]) listed.set(s.jobId, s);
    if (baseline) {
      for (const s of active) {
        this.#seen.set(s.jobId, { revision: s.revision, status: s.status, updatedAtMs: s.updatedAt.getTime(), detail: undefined });
      }
      return;
    }
    // Jobs that were active and are no longer listed as such have ended, or were deleted.
    const gone = [...this.#seen.keys()].filter((id) => !listed.has(id));
    for (const summary of listed.values()) await this.#check(summary.jobId, summary.revision, summary.status);
    for (const jobId of gone) await this.#check(jobId, undefined, undefined);
  }

  async #check(jobId: string, revision: number | undefined, status: JobStatus | undefined): Promise<void> {
    const seen = this.#seen.get(jobId);
    if (seen !== undefined && revision !== undefined && seen.revision === revision) return;
    if (seen === undefined && status !== undefined && isFinalStatus(status) && this.#hub.knows(jobId)) return;
    if (this.#hub.isLocal(jobId)) {
      this.#remember(jobId, undefined);
      return;
    }
    const job = await this.#store.loadJob(jobId);
    if (job === undefined) {
      this.#seen.delete(jobId);
      return;
    }
    if (this.#hub.isLocal(jobId)) return;
    for (const event of this.#changes(job, seen)) this.#hub.publish(event, false);
    this.#remember(jobId, job);
  }

  #remember(jobId: string, job: JobState | undefined): void {
    if (job === undefined || isFinalStatus(job.status)) {
      this.#seen.delete(jobId);
      return;
    }
    const routines = new Map(Object.entries(job.routineStates).map(([id, state]) => [id, JSON.stringify(state)]));
    this.#seen.set(jobId, {
      revision: job.revision,
      status: job.status as JobStatus,
      updatedAtMs: job.updatedAt.getTime(),
      detail: { history: job.executionHistory.length, outputs: job.outputLog.length, routines },
    });
  }

  /** The events that tell what changed in a job since it was last seen: records, routine states, outputs, then the status. */
  #changes(job: JobState, seen: Seen | undefined): UnnumberedEvent[] {
    const head = { jobId: job.jobId, flowId: job.flowId };
    const events: UnnumberedEvent[] = [];
    const history = job.executionHistory;
    const outputs = job.outputLog;
    const detail = seen?.detail;
    const sinceMs = seen?.updatedAtMs ?? -Infinity;
    const newRecords = detail !== undefined && detail.history <= history.length
      ? history.slice(detail.history)
      : history.filter((r) => r.timestamp.getTime() > sinceMs).slice(-MAX_BACKLOG);
    for (const r of newRecords) {
      const record = { routineId: r.routineId, eventName: r.eventName, data: r.data, timestamp: r.timestamp.toISOString() };
      events.push({ ...head, at: record.timestamp, type: "record", record });
    }
    const at = job.updatedAt.toISOString();
    for (const [routineId, state] of Object.entries(job.routineStates)) {
      if (detail?.routines.get(routineId) === JSON.stringify(state)) continue;
      events.push({ ...head, at, type: "routine", routineId, state: { ...state } });
    }
    const newOutputs = detail !== undefined && detail.outputs <= outputs.length
      ? outputs.slice(detail.outputs)
      : outputs.filter((o) => o.timestamp.getTime() > sinceMs).slice(-MAX_BACKLOG);
    for (const o of newOutputs) {
      const output = { routineId: o.routineId, outputType: o.outputType, data: o.data, timestamp: o.timestamp.toISOString() };
      events.push({ ...head, at: output.timestamp, type: "output", output });
    }
    const status = job.status as JobStatus;
    if (seen?.status !== status || events.length > 0 && this.#hub.statusOf(job.jobId) !== status) {
      events.push({ ...head, at, type: "status", status });
    }
    return events;
  }

  /** Every page of a listing. */
  async #listAll(filter: { status: JobStatus[] }): Promise<JobSummary[]> {
    const all: JobSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#store.listJobs({ ...filter, limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  }

  /**
   * The jobs created since the last poll (and the newest one of that poll): a listing continued
   * from the tail cursor, which is then moved to just before the newest job listed.
   */
  async #listCreated(): Promise<JobSummary[]> {
    const all: JobSummary[] = [];
    let cursor = this.#tail;
    let lastPageCursor = cursor;
    let lastPage: JobSummary[] = [];
    for (;;) {
      const page = await this.#store.listJobs({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page);
      lastPageCursor = cursor;
      lastPage = page;
      if (page.nextCursor === undefined) break;
      cursor = page.nextCursor;
    }
    // A cursor from which the listing starts at the last job of the last page: a page of all but
    // that job, continued. (A store's cursor is set only when more jobs follow.)
    if (lastPage.length >= 2) {
      const from = lastPageCursor === undefined ? {} : { cursor: lastPageCursor };
      const before = await this.#store.listJobs({ limit: lastPage.length - 1, ...from });
      if (before.nextCursor !== undefined) {
        this.#tail = before.nextCursor;
        this.#tailJobId = lastPage.at(-1)?.jobId;
      }
    } else if (lastPage.length === 1) {
      this.#tail = lastPageCursor;
      this.#tailJobId = lastPage[0]?.jobId;
    }
    return all;
  }
}
