import type { Flow, FlowEvent, JobStore } from "../index.js";
import { eventToJson, isFinalStatus, type EventHub } from "./event-hub.js";

/** How long an event that says a job rests waits for the store to hold that state. */
const DURABLE_WAIT_MS = 1000;
const DURABLE_POLL_MS = 5;

/**
 * Passes the events of this process's flows to the hub. An event that says a job rests (paused,
 * completed, failed, cancelled) is held until the store holds that status (for at most a second),
 * and the job's later events queue behind it: a client that reads the job when told it rests reads
 * it at rest, not the commit before.
 */
export class LocalRelay {
  readonly #store: JobStore;
  readonly #hub: EventHub;
  readonly #held = new Map<string, FlowEvent[]>();
  readonly #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(flows: readonly Flow[], store: JobStore, hub: EventHub) {
    this.#store = store;
    this.#hub = hub;
    for (const flow of flows) this.#unsubscribe.push(flow.subscribe((event) => this.#receive(event)));
  }

  close(): void {
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  #receive(event: FlowEvent): void {
    const held = this.#held.get(event.jobId);
    if (held !== undefined) {
      held.push(event);
      return;
    }
    if (!rests(event)) {
      this.#hub.publish(eventToJson(event), true);
      return;
    }
    this.#held.set(event.jobId, [event]);
    void this.#drain(event.jobId);
  }

  /** Publishes a job's held events in order, waiting for the store before each that says the job rests. */
  async #drain(jobId: string): Promise<void> {
    const held = this.#held.get(jobId) ?? [];
    while (held.length > 0) {
      const event = held[0]!;
      if (rests(event) && event.type === "status") await this.#durable(jobId, event.status);
      held.shift();
      if (!this.#closed) this.#hub.publish(eventToJson(event), true);
    }
    this.#held.delete(jobId);
  }

  async #durable(jobId: string, status: string): Promise<void> {
    const until = Date.now() + DURABLE_WAIT_MS;
    while (!this.#closed && Date.now() < until) {
      try {
        const stored = await this.#store.readJob(jobId);
        if (stored === undefined || stored.status === status || isFinalStatus(stored.status)) return;
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, DURABLE_POLL_MS));
    }
  }
}

function rests(event: FlowEvent): boolean {
  return event.type === "status" && event.status !== "running" && event.status !== "pending";
}
