import { contextStorage, type ActiveContext } from "../core/context.js";
import { RoutiluxError, describeError, showValue } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import type { JobObserver } from "../state/job-data.js";
import { kJobData } from "../state/job-data.js";
import type { JobStatus } from "../state/job-snapshot.js";
import type { JobStateCore } from "../state/job-state.js";
import type { ExecutionRecord, HistoryEntry, OutputEntry, OutputRecord } from "../state/records.js";

/** A change of a job, as it takes effect: what `flow.subscribe` and `flow.events` deliver. */
export type FlowEvent = {
  /** Increases by one with each event of the job (per process). */
  readonly seq: number;
  readonly jobId: string;
  readonly flowId: string;
  /** When the change took effect. */
  readonly at: Date;
} & (
  | { readonly type: "status"; readonly status: JobStatus }
  | { readonly type: "record"; readonly record: ExecutionRecord }
  | { readonly type: "routine"; readonly routineId: string; readonly state: Record<string, unknown> }
  | { readonly type: "output"; readonly output: OutputRecord }
);

/** Which events a listener receives. */
export interface FlowEventFilter {
  /** Only this job's events. */
  jobId?: string;
}

type Listener = (event: FlowEvent) => void;

interface Subscription {
  readonly listener: Listener;
  readonly jobId: string | undefined;
}

const NO_CONTEXT = undefined as unknown as ActiveContext;
const FINAL = new Set<string>(["completed", "failed", "cancelled"]);

function listenerFailed(error: unknown): void {
  process.emitWarning(`A flow event listener threw: ${describeError(error).message}; the engine is unaffected`, "RoutiluxWarning");
}

/**
 * A flow's live events. When nobody listens nothing is built (`active` is false); otherwise each
 * change becomes an event, numbered per job, and listeners are called in a microtask after the
 * change, outside any handler's context, so a listener that throws or calls back into the flow
 * never disturbs the engine.
 * @internal
 */
export class FlowEvents implements JobObserver {
  readonly #subscriptions = new Set<Subscription>();
  #queue: FlowEvent[] = [];
  #flushing = false;
  readonly #deliver = (): void => contextStorage.run(NO_CONTEXT, () => this.#flush());

  get active(): boolean {
    return this.#subscriptions.size > 0;
  }

  /** Calls `listener` with every event (of one job, with `filter.jobId`) until the returned function is called. */
  subscribe(listener: Listener, filter: FlowEventFilter = {}): () => void {
    if (typeof listener !== "function") throw new RoutiluxError(`Expected a listener function, got ${typeof listener}`);
    if (typeof filter !== "object" || filter === null) throw new RoutiluxError(`Expected an event filter object, got ${showValue(filter)}`);
    if (filter.jobId !== undefined && typeof filter.jobId !== "string") {
      throw new RoutiluxError(`Expected \`jobId\` of an event filter to be a job id (a string), got ${showValue(filter.jobId)}`);
    }
    const subscription: Subscription = { listener, jobId: filter.jobId };
    this.#subscriptions.add(subscription);
    return () => void this.#subscriptions.delete(subscription);
  }

  /**
   * The events as an async iterator. With `jobId` it ends by itself after that job's final status
   * event; aborting `signal` makes it return. Events are buffered while the consumer is busy.
   */
  events(filter: FlowEventFilter & { signal?: AbortSignal } = {}, endedAlready = false): AsyncIterableIterator<FlowEvent> {
    const buffered: FlowEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const end = (): void => {
      ended = true;
      unsubscribe();
      signal?.removeEventListener("abort", end);
      wake?.();
    };
    const unsubscribe = this.subscribe((event) => {
      buffered.push(event);
      if (filter.jobId !== undefined && event.type === "status" && FINAL.has(event.status)) end();
      wake?.();
    }, filter);
    const signal = filter.signal;
    if (signal?.aborted === true || endedAlready) end();
    else signal?.addEventListener("abort", end, { once: true });
    const iterator: AsyncIterableIterator<FlowEvent> = {
      next: async (): Promise<IteratorResult<FlowEvent>> => {
        for (;;) {
          const event = buffered.shift();
          if (event !== undefined) return { value: event, done: false };
          if (ended || signal?.aborted === true) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      return: (): Promise<IteratorResult<FlowEvent>> => {
        end();
        buffered.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  // ---------------------------------------------------------------- JobObserver

  status(job: JobStateCore, status: JobStatus, atMs: number): void {
    if (this.active) this.#push(job, atMs, { type: "status", status });
  }

  record(job: object, entry: HistoryEntry): void {
    this.#push(job as JobStateCore, entry.timeMs, { type: "record", record: entry });
  }

  routine(job: object, routineId: string, state: Payload): void {
    const core = job as JobStateCore;
    this.#push(core, core[kJobData].clock.now(), { type: "routine", routineId, state: { ...state } });
  }

  output(job: object, entry: OutputEntry): void {
    this.#push(job as JobStateCore, entry.timeMs, { type: "output", output: entry });
  }

  #push(job: JobStateCore, atMs: number, body: Record<string, unknown>): void {
    const data = job[kJobData];
    data.eventSeq++;
    this.#queue.push({ seq: data.eventSeq, jobId: job.jobId, flowId: job.flowId, at: new Date(atMs), ...body } as FlowEvent);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(this.#deliver);
    }
  }

  #flush(): void {
    const events = this.#queue;
    this.#queue = [];
    this.#flushing = false;
    for (const event of events) {
      for (const s of this.#subscriptions) {
        if (s.jobId !== undefined && s.jobId !== event.jobId) continue;
        try {
          const returned: unknown = s.listener(event);
          // An async listener's rejection is reported like a throw, never left unhandled.
          if (returned instanceof Promise) returned.catch(listenerFailed);
        } catch (error) {
          listenerFailed(error);
        }
      }
    }
  }
}
