// The dashboard's client of the HTTP API: JSON requests with the token, and event streams.

/** An error answer of the API, with its code and message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly path?: string) {
    super(message);
  }
}

const TOKEN_KEY = "routilux.token";

/** The token the user gave (kept in this browser), if any. */
export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null || token === "") localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return token === null ? extra : { ...extra, Authorization: `Bearer ${token}` };
}

/** Listeners told when the API asks for a token (401). */
export const unauthorized = new Set<() => void>();

/** A JSON request; rejects with an ApiError for an error answer. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? "GET",
    headers: headers(init.body === undefined ? {} : { "Content-Type": "application/json" }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  const json: unknown = text === "" ? null : JSON.parse(text);
  if (!response.ok) {
    if (response.status === 401) for (const listener of unauthorized) listener();
    const error = (json as { error?: { code: string; message: string; path?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "error", error?.message ?? `HTTP ${response.status}`, error?.path);
  }
  return json as T;
}

/** A Server-Sent Event as the stream sends it. */
export interface StreamMessage {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

/**
 * Follows an event stream (read with fetch, so it carries the token), reconnecting with
 * `Last-Event-ID` after a break; stops when told to, or when the server answers 204 (the stream
 * has ended for good). `onState` tells whether the stream is connected.
 */
export function follow(path: string, onMessage: (message: StreamMessage) => void, onState: (live: boolean) => void = () => {}): () => void {
  const controller = new AbortController();
  let lastId: string | undefined;
  let stopped = false;
  const run = async (): Promise<void> => {
    while (!stopped) {
      try {
        const response = await fetch(path, {
          headers: headers({ Accept: "text/event-stream", ...(lastId === undefined ? {} : { "Last-Event-ID": lastId }) }),
          signal: controller.signal,
        });
        if (response.status === 204) return;
        if (!response.ok || response.body === null) {
          if (response.status === 401) for (const listener of unauthorized) listener();
          throw new Error(`HTTP ${response.status}`);
        }
        onState(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
            const message = parse(block);
            if (message === undefined) continue;
            if (message.id !== undefined) lastId = message.id;
            onMessage(message);
          }
        }
        onState(false);
        // The server ended the stream (a job's final status): reconnecting asks whether more came; 204 says no.
      } catch {
        onState(false);
        if (stopped) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}

function parse(block: string): StreamMessage | undefined {
  let event = "message";
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  return data.length === 0 && id === undefined ? undefined : { event, id, data: data.join("\n") };
}
