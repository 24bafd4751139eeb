import type { HandlerContext } from "../core/context.js";
import { FlowDefinitionError, RoutiluxError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, TIMER_SLOT, checkOwnDelivery, loadState, saveState } from "./builtin-routine.js";
import { ConfigReader } from "./config.js";

const KEYS = ["expectedCount", "sources", "timeoutMs"] as const;
const STATE = "aggregator";

type AggregatorSettings =
  | { mode: "count"; expectedCount: number; timeoutMs: number | undefined }
  | { mode: "sources"; sources: string[]; timeoutMs: number | undefined }
  | { mode: "unset"; timeoutMs: number | undefined };

/** The routine state of an Aggregator in one job. */
interface AggregatorState {
  /** Rounds emitted so far; the round being collected is `rounds + 1`. */
  rounds: number;
  /** Count mode: the messages of the round, in arrival order. */
  items?: Payload[];
  /** Sources mode: per source, its messages not yet in a round, oldest first. */
  queues?: Record<string, Payload[]>;
}

function parse(config: Readonly<Record<string, unknown>>): AggregatorSettings {
  const read = new ConfigReader("Aggregator", config, KEYS);
  const timeoutMs = read.optionalNumber("timeoutMs", { above: 0 });
  const hasCount = read.has("expectedCount") && read.raw("expectedCount") !== null;
  const hasSources = read.has("sources") && read.raw("sources") !== null;
  if (hasCount && hasSources) {
    throw new FlowDefinitionError("Aggregator takes `expectedCount` or `sources`, not both: a round is either N messages or one from each source");
  }
  if (hasSources) {
    const sources = read.stringList("sources", []);
    if (sources.length === 0) throw read.error("sources", "a non-empty list of routine ids", read.raw("sources"));
    if (new Set(sources).size !== sources.length) throw read.error("sources", "a list of distinct routine ids", sources);
    return { mode: "sources", sources, timeoutMs };
  }
  if (hasCount) return { mode: "count", expectedCount: read.number("expectedCount", 1, { min: 1, integer: true, max: 10_000 }), timeoutMs };
  return { mode: "unset", timeoutMs };
}

/**
 * Joins parallel branches: waits for `expectedCount` messages, or for one from each of
 * `sources`, then emits them together, once per round, in each job.
 *
 * - Slots: `input` (and `trigger`); `timer` is its own.
 * - Event: `aggregated { items, count, partial }`: `items` the messages as they arrived (in
 *   arrival order; with `sources`, in the order of `sources`), `count` how many, `partial` true
 *   when `timeoutMs` ran out first. With `sources` it also has `bySource` (routine id to its
 *   message) and `missing` (the sources that sent nothing: empty unless the round is partial).
 * - Config: `expectedCount` (messages per round, at most 10,000: each message rewrites the
 *   round, so a round of n costs O(n²)) or `sources` (routine ids: a round is one message from each, matched by `ctx.source.routineId`); `timeoutMs` (optional: this long after
 *   a round's first message, what has come is emitted with `partial: true`).
 *
 * With `sources`, a message from a routine that is not listed (or entry params) fails the
 * activation, naming it; a source that sends twice before the others have sent once has its
 * second message kept for the next round. With `expectedCount`, the round takes the first
 * `expectedCount` messages. A round that is never completed and has no `timeoutMs` stays in the
 * routine state when the job completes.
 *
 * A round that completes before its timeout withdraws the timeout (`ctx.cancelDelivery`), so the
 * job can end at once.
 *
 * Per job: the round being collected is in the job's routine state under `aggregator`, and the
 * timeout is a delayed delivery stored with the job (numbered by round, so the timer of a round
 * already emitted is ignored). So jobs never mix their rounds, and a round survives a pause,
 * serialization and a crash. (The Python system counted on the routine object, shared by every
 * execution.)
 *
 * @example
 * ```ts
 * const join = new Aggregator();
 * join.setConfig({ sources: ["search", "summarise"], timeoutMs: 30_000 });
 * flow.connect("search", "done", "join", "input");
 * flow.connect("summarise", "done", "join", "input");
 * flow.connect("join", "aggregated", "answer", "input");
 * ```
 */
/** The key of a round's timeout delivery. */
const TIMEOUT_KEY = "timeout";

export class Aggregator extends BuiltinRoutine {
  #settings: AggregatorSettings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.collect);
    this.defineSlot("trigger", this.collect);
    this.defineSlot(TIMER_SLOT, this.tick);
    this.defineEvent("aggregated", ["items", "count", "partial"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Starts the timeout of the round being collected, if there is one. */
  #arm(ctx: HandlerContext, state: AggregatorState): void {
    const timeoutMs = this.#settings.timeoutMs;
    if (timeoutMs !== undefined) ctx.deliverLater(TIMER_SLOT, { round: state.rounds + 1 }, timeoutMs, { key: TIMEOUT_KEY });
  }

  /** Adds a message to the round; emits the round when it is complete. */
  protected collect(message: Payload, ctx: HandlerContext): void {
    const settings = this.#settings;
    const state = loadState<AggregatorState>(ctx, STATE) ?? { rounds: 0 };
    if (settings.mode === "unset") {
      throw new RoutiluxError(`Aggregator '${ctx.routineId}' has neither \`expectedCount\` nor \`sources\` in its config, so it cannot tell when a round is complete`);
    }
    if (settings.mode === "count") {
      const items = [...(state.items ?? []), message];
      if (items.length >= settings.expectedCount) {
        if (settings.timeoutMs !== undefined) ctx.cancelDelivery(TIMEOUT_KEY);
        this.emit("aggregated", { items, count: items.length, partial: false });
        saveState(ctx, STATE, { rounds: state.rounds + 1 } satisfies AggregatorState);
        return;
      }
      if (items.length === 1) this.#arm(ctx, state);
      saveState(ctx, STATE, { rounds: state.rounds, items } satisfies AggregatorState);
      return;
    }
    const source = ctx.source?.routineId;
    if (source === undefined || !settings.sources.includes(source)) {
      throw new RoutiluxError(
        `Aggregator '${ctx.routineId}' joins messages from ${settings.sources.map((s) => `'${s}'`).join(", ")}, ` +
        `and got one ${source === undefined ? "with no source routine (entry params or a timer)" : `from '${source}'`}; ` +
        "add it to `sources`, or connect it elsewhere",
      );
    }
    const queues = { ...state.queues };
    const empty = Object.values(queues).every((q) => q.length === 0);
    queues[source] = [...(queues[source] ?? []), message];
    if (settings.sources.every((s) => (queues[s]?.length ?? 0) > 0)) {
      if (settings.timeoutMs !== undefined) ctx.cancelDelivery(TIMEOUT_KEY);
      this.#emitSources(ctx, settings.sources, queues, state.rounds, false);
      return;
    }
    if (empty) this.#arm(ctx, state);
    saveState(ctx, STATE, { rounds: state.rounds, queues } satisfies AggregatorState);
  }

  /** Emits one message of each source that has one, and keeps the rest for the next round. */
  #emitSources(ctx: HandlerContext, sources: readonly string[], queues: Record<string, Payload[]>, rounds: number, partial: boolean): void {
    const items: Payload[] = [];
    const bySource: Record<string, Payload> = {};
    const missing: string[] = [];
    const rest: Record<string, Payload[]> = {};
    for (const source of sources) {
      const [first, ...others] = queues[source] ?? [];
      if (first === undefined) {
        missing.push(source);
        continue;
      }
      items.push(first);
      bySource[source] = first;
      if (others.length > 0) rest[source] = others;
    }
    this.emit("aggregated", { items, count: items.length, partial, bySource, missing });
    const next: AggregatorState = { rounds: rounds + 1, ...(Object.keys(rest).length > 0 ? { queues: rest } : {}) };
    // Messages kept from this round begin the next one, and its timeout.
    if (next.queues !== undefined) this.#arm(ctx, next);
    saveState(ctx, STATE, next);
  }

  /** The timeout of a round: emits what it has, unless the round was emitted already. */
  protected tick(data: Payload, ctx: HandlerContext): void {
    checkOwnDelivery(ctx, "Aggregator");
    const settings = this.#settings;
    const state = loadState<AggregatorState>(ctx, STATE);
    if (state === undefined || data.round !== state.rounds + 1) return;
    if (settings.mode === "sources") {
      if (state.queues !== undefined && Object.values(state.queues).some((q) => q.length > 0)) {
        this.#emitSources(ctx, settings.sources, state.queues, state.rounds, true);
      }
      return;
    }
    const items = state.items ?? [];
    if (items.length === 0) return;
    this.emit("aggregated", { items, count: items.length, partial: true });
    saveState(ctx, STATE, { rounds: state.rounds + 1 } satisfies AggregatorState);
  }
}
