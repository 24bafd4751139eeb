import type { Payload } from "../core/slot.js";
import { compileCondition, type Condition } from "../serialization/expression/index.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, isPlainObject } from "./config.js";

const KEYS = ["routes", "defaultRoute", "routePriority"] as const;

/** One route: the event it emits, and when. */
interface Route {
  event: string;
  test: (scope: { data: unknown; message: Payload; config: Readonly<Record<string, unknown>> }) => boolean;
}

interface RouterSettings {
  routes: Route[];
  defaultRoute: string | undefined;
  routePriority: "first_match" | "all_matches";
}

/** Deep equality of JSON values. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && sameJson(ra[k], rb[k]));
}

function matcher(match: Record<string, unknown>): Route["test"] {
  const fields = Object.entries(match);
  return ({ data }) =>
    isPlainObject(data) && fields.every(([field, expected]) => Object.hasOwn(data, field) && sameJson(data[field], expected));
}

function parseRoute(read: ConfigReader, entry: unknown, i: number): Route {
  const at = `routes[${i}]`;
  let event: unknown;
  let when: unknown;
  let match: unknown;
  if (Array.isArray(entry) && entry.length === 2) {
    // The Python system's form: [event, condition], the condition an expression or a field match.
    event = entry[0] as unknown;
    when = entry[1] as unknown;
    if (isPlainObject(when)) [when, match] = [undefined, when];
  } else if (isPlainObject(entry)) {
    for (const key of Object.keys(entry)) {
      if (key !== "event" && key !== "when" && key !== "match") {
        throw read.error(`${at}.${key}`, "absent: a route has `event` and one of `when` (an expression) or `match` (fields to equal)", entry[key]);
      }
    }
    ({ event, when, match } = entry);
  } else {
    throw read.error(at, "{ event, when } or { event, match } (or [event, condition])", entry);
  }
  if (typeof event !== "string" || event === "") throw read.error(`${at}.event`, "a non-empty event name", event);
  if ((when === undefined) === (match === undefined)) {
    throw read.error(at, "a route with exactly one of `when` (an expression) and `match` (fields to equal)", entry);
  }
  if (when !== undefined) {
    if (typeof when !== "string") throw read.error(`${at}.when`, "an expression string", when);
    const condition: Condition = compileCondition(when, { names: ["message"], where: `ConditionalRouter config ${at}.when` });
    return { event, test: (scope) => condition.test(scope) };
  }
  if (!isPlainObject(match) || Object.keys(match).length === 0) throw read.error(`${at}.match`, "an object of fields to equal", match);
  return { event, test: matcher(match) };
}

function parse(config: Readonly<Record<string, unknown>>): RouterSettings {
  const read = new ConfigReader("ConditionalRouter", config, KEYS, true);
  const raw = read.raw("routes") ?? [];
  if (!Array.isArray(raw)) throw read.error("routes", "a list of routes", raw);
  return {
    routes: raw.map((entry, i) => parseRoute(read, entry, i)),
    defaultRoute: read.optionalString("defaultRoute"),
    routePriority: read.choice("routePriority", ["first_match", "all_matches"], "first_match"),
  };
}

/**
 * Routes each message to an event chosen by conditions, written in the safe expression language
 * (no code is evaluated) or as fields to equal.
 *
 * - Slots: `input` (and `trigger`). The value is the message's `data` field when present, else
 *   the message.
 * - Events: one per route's `event` and for `defaultRoute`, defined when configured, each
 *   emitting `{ data, route }` (`data`: the value; `route`: the event's name); `output
 *   { data, route: "unmatched" }` when nothing matched and there is no `defaultRoute`.
 * - Config: `routes`: a list of `{ event, when }` (a condition: it sees `data`, the value,
 *   `message`, the whole message, and `config`, the routine's config) or `{ event, match }` (an
 *   object whose fields the value must have, with equal JSON values); `[event, condition]` pairs
 *   as in the Python system are read too. `defaultRoute` (optional): the event for a message no
 *   route matched. `routePriority`: `"first_match"` (default: the first route that matches) or
 *   `"all_matches"` (every route that matches, each event once). Other config keys are allowed,
 *   for conditions to read (`config.threshold`).
 *
 * A condition that fails on a message (a missing field, a type mismatch) counts as false. A bad
 * condition is refused when configured, with its position. Events are added when configured and
 * never removed, so a flow can connect them.
 *
 * @example
 * ```ts
 * const route = new ConditionalRouter();
 * route.setConfig({
 *   routes: [{ event: "big", when: "data.size > config.threshold" }, { event: "vip", match: { tier: "gold" } }],
 *   defaultRoute: "small",
 *   threshold: 100,
 * });
 * flow.addRoutine(route, "route");
 * flow.connect("route", "big", "bulk", "input");
 * ```
 */
export class ConditionalRouter extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.route);
    this.defineSlot("trigger", this.route);
    this.defineEvent("output", ["data", "route"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    const settings = parse(config);
    this.#settings = settings;
    const events = [...settings.routes.map((r) => r.event), ...(settings.defaultRoute === undefined ? [] : [settings.defaultRoute])];
    for (const event of events) if (this.getEvent(event) === undefined) this.defineEvent(event, ["data", "route"]);
  }

  /** Emits the message's value on the events of the routes that match. */
  protected route(message: Payload): void {
    const { routes, defaultRoute, routePriority } = this.#settings;
    const data = valueOf(message);
    const scope = { data, message, config: this.config };
    const matched: string[] = [];
    for (const route of routes) {
      if (matched.includes(route.event) || !route.test(scope)) continue;
      matched.push(route.event);
      if (routePriority === "first_match") break;
    }
    if (matched.length === 0 && defaultRoute !== undefined) matched.push(defaultRoute);
    if (matched.length === 0) {
      this.emit("output", { data, route: "unmatched" });
      return;
    }
    for (const event of matched) this.emit(event, { data, route: event });
  }
}
