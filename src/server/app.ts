import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { DASHBOARD_HTML, loadDashboard } from "./assets.js";
import { HttpError, errorBody, toHttpError } from "./errors.js";
import { EventHub } from "./event-hub.js";
import { LocalRelay } from "./local-relay.js";
import { openApiDocument } from "./openapi.js";
import { isLoopback, resolveOptions, type Env, type ResolvedOptions, type ServerOptions } from "./options.js";
import { addRoutes } from "./routes.js";
import { OpenStreams, allEvents, jobEvents, type StreamHost } from "./sse.js";
import { StoreWatcher } from "./store-watcher.js";

/** The package's version, shown by `GET /api/health`. */
const VERSION = "0.1.0";

/**
 * A node:http request listener serving the HTTP API and the dashboard; `close()` ends its event
 * streams and stops watching the store (it closes neither the flows nor the store).
 */
export type RoutiluxRequestListener = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Ends the event streams and stops polling the store. */
  close(): Promise<void>;
  /** The underlying hono app (`app.request(...)` answers a `Request` without a socket). */
  readonly app: Hono<Env>;
  /** How many event streams are open. */
  readonly openStreams: number;
};

function sameToken(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The dashboard's Content-Security-Policy: everything from the server itself (no inline script or
 * style), and no framing by another site's page.
 */
const DASHBOARD_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join("; ");

/** Headers on every answer: no content sniffing; the dashboard's pages may not be framed and load only the server's own files. */
function securityHeaders(dashboard: boolean) {
  return async (c: Context<Env>, next: () => Promise<void>): Promise<void> => {
    await next();
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    if (dashboard && !c.req.path.startsWith("/api/")) {
      c.res.headers.set("X-Frame-Options", "DENY");
      c.res.headers.set("Content-Security-Policy", DASHBOARD_CSP);
    }
  };
}

/** A route's path (`/api/jobs/:jobId`) as a pattern that matches the paths it serves. */
function patternOf(routePath: string): RegExp {
  const parts = routePath.split("/").map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return new RegExp(`^${parts.join("/")}$`);
}

/** The methods the app's routes take on `path` (GET brings HEAD); none when no route has that path. */
function methodsOf(app: Hono<Env>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    if (!patternOf(route.path).test(path)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return [...methods];
}

/** Whether the request carries the server's token (`Authorization: Bearer <token>`). */
function carriesToken(c: Context<Env>, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  return match !== null && sameToken(match[1]!, token);
}

/** Who may ask what: a token when one is set; else loopback clients only, by a loopback name; writes refused when read-only. */
function guard(options: ResolvedOptions) {
  return async (c: Context<Env>, next: () => Promise<void>): Promise<void> => {
    const path = c.req.path;
    const api = path.startsWith("/api/");
    const write = c.req.method !== "GET" && c.req.method !== "HEAD";
    const remote = c.env.incoming.socket.remoteAddress;
    if (options.token === undefined) {
      if (remote !== undefined && !isLoopback(remote)) {
        throw new HttpError(403, "loopback_only", "This server has no token, so it answers on loopback only; start it with a token to serve other hosts");
      }
      // A page of another site may send requests to a loopback server (DNS rebinding): only loopback names are served.
      const hostname = (c.req.header("host") ?? "").replace(/:\d+$/, "");
      if (!isLoopback(hostname)) throw new HttpError(403, "forbidden_host", `This server answers to loopback names only (localhost, 127.0.0.1, [::1]), not '${hostname}'`);
    } else if (api && path !== "/api/health") {
      const header = c.req.header("authorization") ?? "";
      if (!carriesToken(c, options.token)) {
        c.header("WWW-Authenticate", 'Bearer realm="routilux"');
        throw new HttpError(401, "unauthorized", header === "" ? "This server requires a token: send `Authorization: Bearer <token>`" : "The token is not this server's");
      }
    }
    if (write) {
      // A browser sends Origin with every cross-site write: another site's page must not steer jobs.
      const origin = c.req.header("origin");
      if (origin !== undefined && origin !== "null") {
        let originHost = "";
        try {
          originHost = new URL(origin).host;
        } catch { /* a malformed Origin matches nothing */ }
        if (originHost !== c.req.header("host")) throw new HttpError(403, "cross_origin", `Requests from another origin ('${origin}') may not change jobs`);
      } else if (origin === "null") {
        throw new HttpError(403, "cross_origin", "Requests from an opaque origin may not change jobs");
      }
      if (options.readOnly && api) throw new HttpError(403, "read_only", "This server is read-only: it shows jobs but does not start or change them");
    }
    await next();
  };
}

/**
 * The HTTP API and dashboard as a node:http request listener. JSON over HTTP under `/api/` (see
 * `GET /api/openapi.json`), Server-Sent Events for live updates, the dashboard at `/`. Jobs that
 * other processes run on the same store show up too (the store is polled).
 *
 * @example
 * ```ts
 * const store = new SqliteJobStore();
 * const flow = new Flow({ flowId: "review", store });
 * // ... routines and connections ...
 * http.createServer(createServer({ flows: [flow] })).listen(8080, "127.0.0.1");
 * ```
 * @throws RoutiluxError for bad options: no flows, flows without the server's store, a host off
 * loopback without a token
 */
export function createServer(serverOptions: ServerOptions): RoutiluxRequestListener {
  const options = resolveOptions(serverOptions);
  const hub = new EventHub();
  const relay = new LocalRelay([...options.flows.values()], options.store, hub);
  const watcher = new StoreWatcher(options.store, hub, options.pollIntervalMs);
  watcher.start();
  const streams = new OpenStreams();
  const host: StreamHost = { hub, store: options.store, heartbeatMs: options.heartbeatMs, streams };
  // The dashboard is bundled now, not on the first request: the page then loads at once.
  if (options.dashboard) loadDashboard().catch(() => undefined);

  const app = new Hono<Env>();
  app.onError((error, c) => {
    const http = toHttpError(error);
    // The rest of a refused body is not read: the connection cannot carry another request.
    if (http.status === 413) c.header("Connection", "close");
    if (http.status >= 500) process.emitWarning(`routilux server: ${error instanceof Error ? error.stack ?? error.message : String(error)}`, "RoutiluxWarning");
    return c.json(errorBody(http), http.status);
  });
  app.notFound((c) => {
    const allowed = methodsOf(app, c.req.path);
    if (allowed.length > 0) {
      c.header("Allow", allowed.join(", "));
      return c.json(errorBody(new HttpError(405, "method_not_allowed", `${c.req.path} takes ${allowed.join(", ")}, not ${c.req.method}`)), 405);
    }
    return c.json(errorBody(new HttpError(404, "not_found", `No route ${c.req.method} ${c.req.path}; the API is described at /api/openapi.json`)), 404);
  });
  app.use("*", securityHeaders(options.dashboard));
  app.use("*", guard(options));

  // Health is open: without the token (when one is set) it says only that the server runs and wants one.
  app.get("/api/health", (c) => {
    const auth = options.token === undefined ? "none" : "bearer";
    if (options.token !== undefined && !carriesToken(c, options.token)) return c.json({ ok: true, version: VERSION, auth });
    return c.json({
      ok: true, version: VERSION, auth, readOnly: options.readOnly, flows: [...options.flows.keys()], store: String(options.store),
    });
  });
  app.get("/api/openapi.json", (c) => c.json(openApiDocument(VERSION, { token: options.token !== undefined })));
  app.get("/api/events", (c) => allEvents(c, host));
  app.get("/api/jobs/:jobId/events", (c) => jobEvents(c, host));
  addRoutes(app, options);

  if (options.dashboard) {
    app.get("/", (c) => c.html(DASHBOARD_HTML));
    app.get("/assets/:file", async (c) => {
      const asset = (await loadDashboard()).get(c.req.path);
      if (asset === undefined) throw new HttpError(404, "not_found", `No dashboard file ${c.req.path}`);
      return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": asset.type, "Cache-Control": "no-cache" });
    });
  }

  const listener = getRequestListener((request, env) => app.fetch(request, env));
  const handler = ((req: IncomingMessage, res: ServerResponse): void => {
    void listener(req, res);
  }) as RoutiluxRequestListener;
  let closed: Promise<void> | undefined;
  Object.defineProperties(handler, {
    app: { value: app },
    openStreams: { get: (): number => hub.subscribers },
    close: {
      value: (): Promise<void> => (closed ??= (async () => {
        streams.closeAll();
        relay.close();
        await watcher.stop();
      })()),
    },
  });
  return handler;
}
