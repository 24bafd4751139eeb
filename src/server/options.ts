import type { IncomingMessage, ServerResponse } from "node:http";
import { Flow, RoutiluxError, type JobStore } from "../index.js";

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The flows the server shows and starts jobs of; each must have been created with the server's store. */
  readonly flows: readonly Flow[];
  /** Where the jobs are: default, the flows' store (they must share one). Jobs of other processes on it show up too. */
  readonly store?: JobStore;
  /** A bearer token every API request must carry (`Authorization: Bearer <token>`). Required off loopback. */
  readonly token?: string;
  /** Refuse every change (starting, pausing, resuming, cancelling, answering jobs) with 403. Default false. */
  readonly readOnly?: boolean;
  /** The address the server listens on, when known: one off loopback requires a token. */
  readonly host?: string;
  /** The largest request body accepted, in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** How often the store is polled for jobs that other processes run, in milliseconds. Default 500. */
  readonly pollIntervalMs?: number;
  /** How often an idle event stream sends a comment line, in milliseconds. Default 15,000. */
  readonly heartbeatMs?: number;
  /** Serve the dashboard at `/`. Default true. */
  readonly dashboard?: boolean;
}

/** The options with their defaults, checked. @internal */
export interface ResolvedOptions {
  readonly flows: ReadonlyMap<string, Flow>;
  readonly store: JobStore;
  readonly token: string | undefined;
  readonly readOnly: boolean;
  readonly maxBodyBytes: number;
  readonly pollIntervalMs: number;
  readonly heartbeatMs: number;
  readonly dashboard: boolean;
}

/** True for a loopback address or name (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RoutiluxError(`Expected \`${name}\` to be an integer from 1 and up, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks the options of createServer and fills in the defaults. @internal */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) throw new RoutiluxError("createServer expects an options object { flows, store?, token?, readOnly?, host? }");
  const list: unknown = options.flows;
  if (!Array.isArray(list) || list.length === 0) throw new RoutiluxError("Expected `flows` to be a non-empty array of Flow objects");
  const flows = new Map<string, Flow>();
  for (const [i, flow] of (list as unknown[]).entries()) {
    if (!(flow instanceof Flow)) throw new RoutiluxError(`Expected \`flows[${i}]\` to be a Flow, got ${flow === null ? "null" : typeof flow}`);
    if (flows.has(flow.flowId)) throw new RoutiluxError(`Two flows have the id '${flow.flowId}'; each flow the server shows needs its own flowId`);
    flows.set(flow.flowId, flow);
  }
  const store = options.store ?? [...flows.values()].find((f) => f.store !== undefined)?.store;
  if (store === undefined) throw new RoutiluxError("createServer needs a job store: pass `store`, or flows created with one (new Flow({ store }))");
  for (const flow of flows.values()) {
    if (flow.store !== store) {
      throw new RoutiluxError(`Flow '${flow.flowId}' ${flow.store === undefined ? "has no store" : "has another store"}; create every flow the server shows with the server's store (new Flow({ store }))`);
    }
  }
  const token = options.token;
  if (token !== undefined && (typeof token !== "string" || token.length < 8 || /\s/.test(token))) {
    throw new RoutiluxError("Expected `token` to be a string of at least 8 characters without spaces");
  }
  if (options.host !== undefined && !isLoopback(options.host) && token === undefined) {
    throw new RoutiluxError(`Host '${options.host}' is reachable off loopback: give a token (\`token\`, or --token) that every request must carry, or listen on 127.0.0.1`);
  }
  return {
    flows,
    store,
    token,
    readOnly: options.readOnly === true,
    maxBodyBytes: positiveInteger(options.maxBodyBytes, "maxBodyBytes", 1024 * 1024),
    pollIntervalMs: positiveInteger(options.pollIntervalMs, "pollIntervalMs", 500),
    heartbeatMs: positiveInteger(options.heartbeatMs, "heartbeatMs", 15_000),
    dashboard: options.dashboard !== false,
  };
}

/** The server app's environment: the Node request and response (from @hono/node-server). @internal */
export interface Env {
  Bindings: { incoming: IncomingMessage; outgoing: ServerResponse };
}
