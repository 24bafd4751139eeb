import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { Flow, Routine, SqliteJobStore, type HandlerContext, type JobStore, type Payload } from "../../src/index.js";

/** A temporary folder with a SQLite store in it; `cleanup` closes the stores opened on it and removes it. */
export async function tempStore(): Promise<{
  path: string; store: SqliteJobStore; open: () => SqliteJobStore; cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "routilux-server-"));
  const path = join(dir, "jobs.db");
  const opened: SqliteJobStore[] = [];
  const open = (): SqliteJobStore => {
    const store = new SqliteJobStore({ path });
    opened.push(store);
    return store;
  };
  return {
    path,
    store: open(),
    open,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A gate a test opens to let a job's step finish. */
export class Gate {
  #open = false;
  #waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return this.#open ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }

  open(): void {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w();
  }
}

const Order = z.object({ item: z.string(), quantity: z.number().int().positive() });
const Approval = z.object({ approved: z.boolean(), comment: z.string().optional() });

/**
 * A small flow: `take` (trigger slot with a schema) -> `work` (goes round `rounds` times, 50 ms
 * each, when the order has `rounds`; waits for the gate when it says `slow`) -> `approve` (waits
 * for a person's answer when the order says `ask`) -> done.
 */
export function ordersFlow(store: JobStore, gate: Gate = new Gate()): Flow {
  class Take extends Routine {
    constructor() {
      super();
      this.defineSlot("trigger", (data: Payload) => this.emit("taken", data), { schema: Order.extend({ slow: z.boolean().optional(), ask: z.boolean().optional(), rounds: z.number().int().optional() }) });
      this.defineEvent("taken");
    }
  }
  class Work extends Routine {
    constructor() {
      super();
      this.defineSlot("input", async (data: Payload, ctx: HandlerContext) => {
        if (data.slow === true) await gate.wait();
        if (typeof data.rounds === "number" && data.rounds > 0) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          this.emit("again", { ...data, rounds: data.rounds - 1 });
          return;
        }
        ctx.shared.set("total", (data.quantity as number) * 3);
        this.emit("worked", data);
      });
      this.defineEvent("worked");
      this.defineEvent("again");
    }
  }
  class Approve extends Routine {
    constructor() {
      super();
      this.defineSlot("input", (data: Payload, ctx: HandlerContext) => {
        if (data.ask === true) ctx.waitForInput({ slot: "decision", prompt: `Approve ${String(data.quantity)} x ${String(data.item)}?` });
        else ctx.sendOutput("approved", { auto: true });
      });
      this.defineSlot("decision", (data: Payload, ctx: HandlerContext) => ctx.sendOutput("approved", data), { schema: Approval });
    }
  }
  const flow = new Flow({ flowId: "orders", executionStrategy: "concurrent", maxWorkers: 4, store });
  flow.addRoutine(new Take(), "take");
  flow.addRoutine(new Work(), "work");
  flow.addRoutine(new Approve(), "approve");
  flow.connect("take", "taken", "work", "input");
  flow.connect("work", "worked", "approve", "input");
  flow.connect("work", "again", "work", "input");
  return flow;
}

/** A Server-Sent Event as read off the wire. */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/**
 * Reads a Server-Sent Events stream until `until` says enough (or the stream ends, or the time is
 * up), then closes it. Returns the events, the HTTP status and whether the stream ended by itself.
 */
export async function readSse(
  url: string,
  options: { headers?: Record<string, string>; until?: (events: SseEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<{ status: number; events: SseEvent[]; ended: boolean }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  const events: SseEvent[] = [];
  let ended = false;
  let status = 0;
  try {
    const response = await fetch(url, { headers: { Accept: "text/event-stream", ...options.headers }, signal: controller.signal });
    status = response.status;
    if (response.body === null || status !== 200) return { status, events, ended: true };
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      if (options.until?.(events) === true) break;
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("id: ")) id = line.slice(4);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        if (data.length > 0 || id !== undefined) events.push({ event, id, data: data.join("\n") });
      }
    }
    await reader.cancel().catch(() => undefined);
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status, events, ended };
}

/** Polls `check` until it returns a value other than undefined (or the time is up). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A GET with a Host header of one's choosing (fetch does not let one set it). */
export function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { Host: host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", reject);
    request.end();
  });
}
