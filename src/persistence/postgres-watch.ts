// LISTEN on the store's channel with one dedicated connection, made when the first listener comes
// and ended with the last; a dropped connection is made again after a pause. Wake-ups only speed
// workers up: they poll as well, so a notification lost while reconnecting costs a poll interval.
import pg from "pg";
import { outsideContext } from "../core/context.js";

const RECONNECT_MS = 1000;

/** The listeners of one store's job channel. @internal */
export class JobWatch {
  readonly channel: string;
  readonly #config: pg.ClientConfig;
  readonly #listeners = new Set<(flowId: string) => void>();
  #client: pg.Client | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(config: pg.ClientConfig, channel: string) {
    this.#config = config;
    this.channel = channel;
  }

  add(listener: (flowId: string) => void): () => void {
    this.#listeners.add(listener);
    if (this.#client === undefined && this.#timer === undefined) this.#connect();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) void this.#stop();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#stop();
  }

  #connect(): void {
    if (this.#closed || this.#listeners.size === 0) return;
    const client = new pg.Client(this.#config);
    this.#client = client;
    const retry = (): void => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.end().catch(() => undefined);
      if (this.#closed || this.#listeners.size === 0) return;
      this.#timer = outsideContext(() => setTimeout(() => {
        this.#timer = undefined;
        this.#connect();
      }, RECONNECT_MS));
      this.#timer.unref();
    };
    client.on("error", retry);
    client.on("end", retry);
    client.on("notification", (message) => {
      const flowId = message.payload ?? "";
      for (const listener of [...this.#listeners]) {
        try {
          listener(flowId);
        } catch {
          // a listener's failure is its own
        }
      }
    });
    client.connect()
      .then(() => client.query(`LISTEN ${this.channel}`))
      .then(() => {
        // The socket must not keep the process alive by itself.
        (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      })
      .catch(retry);
  }

  async #stop(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
