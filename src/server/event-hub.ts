import { randomBytes } from "node:crypto";
import type { FlowEvent, JobStatus } from "../index.js";

/** A job event as sent over HTTP: a FlowEvent as JSON, numbered by the server per job (`seq`). */
export type FlowEventJson = { seq: number; jobId: string; flowId: string; at: string } & (
  | { type: "status"; status: JobStatus }
  | { type: "record"; record: { routineId: string; eventName: string; data: Record<string, unknown>; timestamp: string } }
  | { type: "routine"; routineId: string; state: Record<string, unknown> }
  | { type: "output"; output: { routineId: string; outputType: string; data: Record<string, unknown>; timestamp: string } }
  | { type: "lost"; error: string }
);

/** An event without its number, before the hub numbers it. */
export type UnnumberedEvent = FlowEventJson extends infer E ? (E extends FlowEventJson ? Omit<E, "seq"> : never) : never;

/** An event with its place in the server's stream of all jobs. */
export interface HubEntry {
  readonly cursor: number;
  readonly event: FlowEventJson;
}

const FINAL = new Set<string>(["completed", "failed", "cancelled"]);

interface JobLog {
  nextSeq: number;
  events: FlowEventJson[];
  /** Whether this process's flows report the job's events (so the store watcher leaves it alone). */
  local: boolean;
  status: JobStatus | undefined;
}

/** How many events the hub keeps, per job and over all jobs, for clients that reconnect. */
export interface HubLimits {
  readonly perJob: number;
  readonly total: number;
  readonly jobs: number;
}

const DEFAULT_LIMITS: HubLimits = { perJob: 1000, total: 10_000, jobs: 2000 };

/** Converts a FlowEvent of the engine to its JSON, without its number. */
export function eventToJson(event: FlowEvent): UnnumberedEvent {
  const head = { jobId: event.jobId, flowId: event.flowId, at: event.at.toISOString() };
  switch (event.type) {
    case "status":
      return { ...head, type: "status", status: event.status };
    case "record": {
      const r = event.record;
      return { ...head, type: "record", record: { routineId: r.routineId, eventName: r.eventName, data: r.data, timestamp: r.timestamp.toISOString() } };
    }
    case "routine":
      return { ...head, type: "routine", routineId: event.routineId, state: event.state };
    case "output": {
      const o = event.output;
      return { ...head, type: "output", output: { routineId: o.routineId, outputType: o.outputType, data: o.data, timestamp: o.timestamp.toISOString() } };
    }
    case "lost":
      return { ...head, type: "lost", error: event.error };
  }
}

/**
 * The server's record of job events: it numbers each job's events (`seq`, from 1, as the server
 * sees them: from its own flows, or made up from store changes for jobs of other processes), keeps
 * the last ones per job and over all jobs so a client that reconnects with `Last-Event-ID` misses
 * nothing, and tells its listeners. The stream over all jobs is numbered by a cursor that names
 * this server's run (`<run>.<n>`), so a cursor of an earlier run is recognised as one.
 */
export class EventHub {
  /** Names this run of the server in cursors. */
  readonly run = randomBytes(4).toString("hex");
  readonly #limits: HubLimits;
  readonly #jobs = new Map<string, JobLog>();
  readonly #all: HubEntry[] = [];
  #cursor = 0;
  readonly #listeners = new Set<(entry: HubEntry) => void>();

  constructor(limits: Partial<HubLimits> = {}) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Numbers an event, keeps it and tells the listeners. `local`: it comes from a flow of this process. */
  publish(event: UnnumberedEvent, local: boolean): FlowEventJson {
    const log = this.#log(event.jobId);
    if (local) log.local = true;
    const numbered = { ...event, seq: log.nextSeq++ };
    if (numbered.type === "status") log.status = numbered.status;
    log.events.push(numbered);
    if (log.events.length > this.#limits.perJob) log.events.splice(0, log.events.length - this.#limits.perJob);
    const entry = { cursor: ++this.#cursor, event: numbered };
    this.#all.push(entry);
    if (this.#all.length > this.#limits.total) this.#all.splice(0, this.#all.length - this.#limits.total);
    for (const listener of this.#listeners) {
      try {
        listener(entry);
      } catch {
        // A listener is a client connection; one that fails must not stop the others.
      }
    }
    return numbered;
  }

  /** True when this process's flows report the job's events. */
  isLocal(jobId: string): boolean {
    return this.#jobs.get(jobId)?.local === true;
  }

  /** Whether the hub has numbered events of the job. */
  knows(jobId: string): boolean {
    return this.#jobs.has(jobId);
  }

  /** The job's last status as the hub has seen it. */
  statusOf(jobId: string): JobStatus | undefined {
    return this.#jobs.get(jobId)?.status;
  }

  /** The seq of the job's last event (0 for a job the hub has not numbered events of). */
  lastSeqOf(jobId: string): number {
    return (this.#jobs.get(jobId)?.nextSeq ?? 1) - 1;
  }

  /**
   * The job's kept events after `lastSeq`; `gap` is true when some of them are no longer kept (or
   * `lastSeq` is ahead of what the hub numbered: a number from an earlier run of the server).
   */
  jobEventsAfter(jobId: string, lastSeq: number): { events: FlowEventJson[]; gap: boolean } {
    const log = this.#jobs.get(jobId);
    if (log === undefined) return { events: [], gap: lastSeq > 0 };
    if (lastSeq >= log.nextSeq) return { events: [], gap: true };
    const first = log.events[0]?.seq ?? log.nextSeq;
    return { events: log.events.filter((e) => e.seq > lastSeq), gap: lastSeq + 1 < first };
  }

  /** The entries of all jobs after a cursor; `gap` as for {@link EventHub.jobEventsAfter}. */
  entriesAfter(cursor: string): { entries: HubEntry[]; gap: boolean } {
    const n = this.parseCursor(cursor);
    if (n === undefined || n > this.#cursor) return { entries: [], gap: true };
    const first = this.#all[0]?.cursor ?? this.#cursor + 1;
    return { entries: this.#all.filter((e) => e.cursor > n), gap: n + 1 < first };
  }

  /** The cursor of an entry, as sent in `id:` on the stream of all jobs. */
  cursorOf(entry: HubEntry): string {
    return `${this.run}.${entry.cursor}`;
  }

  /** The current cursor: where a client that has seen everything stands. */
  get cursor(): string {
    return `${this.run}.${this.#cursor}`;
  }

  /** The number in a cursor of this run, or undefined for a malformed one or one of another run. */
  parseCursor(cursor: string): number | undefined {
    const match = /^([0-9a-f]+)\.(\d{1,15})$/.exec(cursor);
    if (match === null || match[1] !== this.run) return undefined;
    return Number(match[2]);
  }

  /** How many listeners are subscribed (one per open event stream). */
  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Calls `listener` with every new entry until the returned function is called. */
  subscribe(listener: (entry: HubEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  #log(jobId: string): JobLog {
    let log = this.#jobs.get(jobId);
    if (log === undefined) {
      log = { nextSeq: 1, events: [], local: false, status: undefined };
      this.#jobs.set(jobId, log);
      if (this.#jobs.size > this.#limits.jobs) this.#forgetOldest();
    } else {
      // Keeps the map in order of last use: a re-inserted key goes to the end.
      this.#jobs.delete(jobId);
      this.#jobs.set(jobId, log);
    }
    return log;
  }

  /** Forgets the least recently changed job that has ended (its events are the least likely asked for). */
  #forgetOldest(): void {
    for (const [jobId, log] of this.#jobs) {
      if (log.status !== undefined && FINAL.has(log.status)) {
        this.#jobs.delete(jobId);
        return;
      }
    }
  }
}

/** True for the statuses after which a job never changes. */
export function isFinalStatus(status: string | undefined): boolean {
  return status !== undefined && FINAL.has(status);
}
