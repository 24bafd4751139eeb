import type { Context } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import type { JobStore } from "../index.js";
import { HttpError } from "./errors.js";
import { isFinalStatus, type EventHub, type FlowEventJson, type HubEntry } from "./event-hub.js";

/** What the event streams need of the server. */
export interface StreamHost {
  readonly hub: EventHub;
  readonly store: JobStore;
  readonly heartbeatMs: number;
  /** Ends every stream when the server closes. */
  readonly streams: OpenStreams;
}

/**
 * The open event streams, each with a function that ends it: the server ends them all when it
 * closes. (A Set, not an AbortSignal with a listener per stream: many streams are open at once.)
 */
export class OpenStreams {
  readonly #enders = new Set<() => void>();
  #closed = false;

  /** Registers a stream's ender (called at once when the server has closed); the returned function unregisters it. */
  add(end: () => void): () => void {
    if (this.#closed) {
      end();
      return () => undefined;
    }
    this.#enders.add(end);
    return () => void this.#enders.delete(end);
  }

  /** Ends every open stream, and every stream opened after. */
  closeAll(): void {
    this.#closed = true;
    for (const end of this.#enders) end();
    this.#enders.clear();
  }

  /** How many streams are registered. */
  get size(): number {
    return this.#enders.size;
  }
}

const RESET_ALL = "Some events after this cursor are not kept (or the cursor is of an earlier run of the server); read the jobs afresh";

const RESET_AHEAD = (given: number, last: number): string =>
  `Last-Event-ID ${given} is past this job's last event (${last}): it is not an id this run of the server gave; read the job afresh, the stream goes on from ${last}`;

/** The id the client last saw: the `Last-Event-ID` header, else the `lastEventId` query parameter. */
function lastEventId(c: Context): string | undefined {
  const value = c.req.header("last-event-id") ?? c.req.query("lastEventId");
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/**
 * Keeps a stream open until the client leaves, the server closes or `done` resolves, writing a
 * comment line now and then so that proxies keep the connection.
 */
async function hold(stream: SSEStreamingApi, host: StreamHost, done: Promise<void>): Promise<void> {
  let heartbeat: NodeJS.Timeout | undefined;
  let leave = (): void => {};
  const left = new Promise<void>((resolve) => {
    leave = resolve;
    stream.onAbort(resolve);
    heartbeat = setInterval(() => void stream.write(": keep-alive\n\n").catch(resolve), host.heartbeatMs);
  });
  // Unregistered when the stream ends: the server's registry outlives every stream.
  const unregister = host.streams.add(() => leave());
  try {
    await Promise.race([left, done]);
  } finally {
    clearInterval(heartbeat);
    unregister();
  }
}

/**
 * `GET /api/jobs/:jobId/events`: the job's events as Server-Sent Events, each with its `seq` as
 * `id:`. It starts with the events the server keeps after `Last-Event-ID` (all it keeps, without
 * one; an `event: reset` first when some are no longer kept, or when `Last-Event-ID` is past the
 * job's last event, so the client reads the job afresh), then goes live, and ends after the job's
 * final status. A client that reconnects after the end (with its last id, or one past it) is
 * answered 204, which tells an EventSource to stop.
 */
export async function jobEvents(c: Context, host: StreamHost): Promise<Response> {
  const jobId = c.req.param("jobId") ?? "";
  const raw = lastEventId(c);
  const lastSeq = raw === undefined ? 0 : Number(raw);
  if (raw !== undefined && !/^\d{1,15}$/.test(raw)) {
    throw new HttpError(400, "invalid_last_event_id", `Expected Last-Event-ID to be a job event's seq (an integer), got '${raw}'`);
  }
  const { hub } = host;
  if (!hub.knows(jobId)) {
    // A job the server has not seen change: its stream starts with where it stands.
    const stored = await host.store.readJob(jobId);
    if (stored === undefined) throw new HttpError(404, "job_not_found", `No job '${jobId}' in this server's store`);
    if (!hub.knows(jobId)) hub.publish({ jobId, flowId: stored.flowId, at: new Date().toISOString(), type: "status", status: stored.status }, false);
  }
  const last = hub.lastSeqOf(jobId);
  const ended = isFinalStatus(hub.statusOf(jobId));
  // Nothing follows the cursor of a job that has ended (a cursor past its end too: one of an earlier run of the server).
  if (ended && raw !== undefined && lastSeq >= last) return c.body(null, 204);
  // A cursor past the end of a live job is one this run of the server did not give: the client reads the job afresh.
  const ahead = lastSeq > last;
  const { events, gap } = ahead ? { events: [], gap: false } : hub.jobEventsAfter(jobId, lastSeq);
  return streamSSE(c, async (stream) => {
    let sent = ahead ? last : lastSeq;
    let finish = (): void => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const queue: FlowEventJson[] = [];
    const send = async (event: FlowEventJson): Promise<void> => {
      if (event.seq <= sent) return;
      sent = event.seq;
      await stream.writeSSE({ id: String(event.seq), data: JSON.stringify(event) });
      if (event.type === "status" && isFinalStatus(event.status)) finish();
    };
    // Live events that arrive while the kept ones are written wait in the queue.
    let replaying = true;
    const unsubscribe = hub.subscribe((entry) => {
      if (entry.event.jobId !== jobId) return;
      if (replaying) queue.push(entry.event);
      else void send(entry.event).catch(finish);
    });
    try {
      if (ahead) await stream.writeSSE({ event: "reset", id: String(last), data: JSON.stringify({ jobId, reason: RESET_AHEAD(lastSeq, last) }) });
      else if (gap) await stream.writeSSE({ event: "reset", data: JSON.stringify({ jobId, reason: "Some events of this job are no longer kept; read the job afresh" }) });
      for (const event of events) await send(event);
      for (const event of queue.splice(0)) await send(event);
      replaying = false;
      await hold(stream, host, done);
    } finally {
      unsubscribe();
    }
  });
}

/**
 * `GET /api/events`: the events of every job (of one flow, with `?flowId=`), each with a cursor
 * over all jobs as `id:`. Without `Last-Event-ID` it starts with an `event: ready` carrying the
 * current cursor, then goes live; with one, it first sends what the server keeps after it (after
 * an `event: reset` when some of that is no longer kept, or the cursor is of an earlier run).
 */
export function allEvents(c: Context, host: StreamHost): Response {
  const { hub } = host;
  const flowId = c.req.query("flowId");
  const cursor = lastEventId(c);
  const keep = (entry: HubEntry): boolean => flowId === undefined || flowId === "" || entry.event.flowId === flowId;
  return streamSSE(c, async (stream) => {
    let sent = -1;
    const send = async (entry: HubEntry): Promise<void> => {
      if (entry.cursor <= sent) return;
      sent = entry.cursor;
      if (keep(entry)) await stream.writeSSE({ id: hub.cursorOf(entry), data: JSON.stringify(entry.event) });
    };
    const queue: HubEntry[] = [];
    let replaying = true;
    let failed = (): void => {};
    const done = new Promise<void>((resolve) => (failed = resolve));
    const unsubscribe = hub.subscribe((entry) => {
      if (replaying) queue.push(entry);
      else void send(entry).catch(failed);
    });
    try {
      if (cursor === undefined) {
        await stream.writeSSE({ event: "ready", id: hub.cursor, data: JSON.stringify({ cursor: hub.cursor }) });
        sent = hub.parseCursor(hub.cursor) ?? 0;
      } else if (hub.parseCursor(cursor) === undefined) {
        // A cursor of an earlier run of the server (or none it ever gave): start afresh from here.
        await stream.writeSSE({ event: "reset", id: hub.cursor, data: JSON.stringify({ cursor: hub.cursor, reason: RESET_ALL }) });
        sent = hub.parseCursor(hub.cursor) ?? 0;
      } else {
        const { entries, gap } = hub.entriesAfter(cursor);
        if (gap) await stream.writeSSE({ event: "reset", data: JSON.stringify({ cursor, reason: RESET_ALL }) });
        for (const entry of entries) await send(entry);
      }
      for (const entry of queue.splice(0)) await send(entry);
      replaying = false;
      await hold(stream, host, done);
    } finally {
      unsubscribe();
    }
  });
}
