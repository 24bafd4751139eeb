import { createServer as createHttpServer, type Server } from "node:http";
import { RoutiluxError } from "../index.js";
import { createServer } from "./app.js";
import type { ServerOptions } from "./options.js";

/** Options of {@link startServer}: those of createServer, and where to listen. */
export interface StartServerOptions extends ServerOptions {
  /** The address to listen on. Default `127.0.0.1` (loopback); another needs a `token`. */
  readonly host?: string;
  /** The port; 0 picks a free one. Default 8080. */
  readonly port?: number;
}

/** A running server: its address, and how to stop it. */
export interface RunningServer {
  /** The dashboard's address, such as `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly server: Server;
  /** Stops listening, ends open connections (event streams too); leaves the flows and the store open. */
  close(): Promise<void>;
}

/**
 * Serves the HTTP API and the dashboard on `host:port` (default `127.0.0.1:8080`).
 *
 * @example
 * ```ts
 * const server = await startServer({ flows: [flow], port: 0 });
 * console.log(`dashboard at ${server.url}`);
 * // ...
 * await server.close();
 * ```
 * @throws (rejects) RoutiluxError for bad options or a port that is taken
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RoutiluxError(`Expected \`port\` to be an integer from 0 to 65535, got ${JSON.stringify(port)}`);
  const listener = createServer({ ...options, host });
  const server = createHttpServer(listener);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await listener.close();
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "EADDRINUSE" ? "it is in use; pick another port (0 picks a free one)" : (error as Error).message;
    throw new RoutiluxError(`Cannot listen on ${host}:${port}: ${why}`, { cause: error });
  }
  const address = server.address();
  const actualPort = typeof address === "object" && address !== null ? address.port : port;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shown}:${actualPort}/`,
    host,
    port: actualPort,
    server,
    close: () => (closed ??= (async () => {
      await listener.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })()),
  };
}
