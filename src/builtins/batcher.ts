import type { HandlerContext } from "../core/context.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, TIMER_SLOT, checkOwnDelivery, loadState, saveState } from "./builtin-routine.js";
import { ConfigReader } from "./config.js";

const KEYS = ["batchSize", "flushAfterMs"] as const;
const STATE = "batcher";

interface BatcherSettings {
  batchSize: number;
  flushAfterMs: number | undefined;
}

/** The routine state of a Batcher in one job. */
interface BatcherState {
  /** Batches emitted so far; also the number of the batch being collected, less one. */
  batches: number;
  /** The messages of the batch being collected. */
  items: Payload[];
}

/** Why a batch was emitted. */
type Reason = "size" | "timeout" | "flush";

function parse(config: Readonly<Record<string, unknown>>): BatcherSettings {
  const read = new ConfigReader("Batcher", config, KEYS);
  return {
    batchSize: read.number("batchSize", 100, { min: 1, integer: true, max: 10_000 }),
    flushAfterMs: read.optionalNumber("flushAfterMs", { min: 0 }),
  };
}

/**
 * Collects messages into batches, for bulk writes and calls that take many items at once.
 *
 * - Slots: `input` (and `trigger`): a message to add; `flush`: emit what is collected now (any
 *   message); `timer` is its own.
 * - Event: `batch { items, count, batchNumber, reason }`: `items` the messages as they arrived,
 *   `batchNumber` from 1 in each job, `reason` `"size"`, `"timeout"` or `"flush"`.
 * - Config: `batchSize` (default 100, at most 10,000): a batch is emitted when it has this many;
 *   `flushAfterMs` (optional): a batch is emitted this long after its first message, however
 *   many it has.
 *
 * Per job: the batch being collected is in the job's routine state under `batcher`; the
 * `flushAfterMs` timer is a delayed delivery stored with the job (`ctx.deliverLater`), numbered by
 * batch so that one for a batch already emitted is ignored. So it survives a pause,
 * serialization and a crash, and jobs never mix their messages. Without `flushAfterMs`, messages
 * of an incomplete batch stay in the routine state when the job completes: send to `flush` to
 * emit them. A batch emitted before its `flushAfterMs` (full, or flushed) withdraws that timer
 * (`ctx.cancelDelivery`), so the job can end at once.
 *
 * Cost: each message rewrites the batch being collected (it is job state, checked and, with a
 * store, committed whole), so a batch of n messages costs O(n²) in all: keep batches to a few
 * thousand messages, and batch big streams in several stages.
 *
 * @example
 * ```ts
 * const rows = new Batcher();
 * rows.setConfig({ batchSize: 500, flushAfterMs: 2000 });
 * flow.connect("parse", "row", "rows", "input");
 * flow.connect("rows", "batch", "insert", "input");
 * ```
 */
/** The key of a batch's `flushAfterMs` delivery. */
const FLUSH_KEY = "flush";

export class Batcher extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.add);
    this.defineSlot("trigger", this.add);
    this.defineSlot("flush", this.flush);
    this.defineSlot(TIMER_SLOT, this.tick);
    this.defineEvent("batch", ["items", "count", "batchNumber", "reason"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  #emit(ctx: HandlerContext, state: BatcherState, reason: Reason): void {
    if (reason !== "timeout" && this.#settings.flushAfterMs !== undefined) ctx.cancelDelivery(FLUSH_KEY);
    const batchNumber = state.batches + 1;
    this.emit("batch", { items: state.items, count: state.items.length, batchNumber, reason });
    saveState(ctx, STATE, { batches: batchNumber, items: [] } satisfies BatcherState);
  }

  /** Adds a message; emits the batch when it is full. */
  protected add(message: Payload, ctx: HandlerContext): void {
    const { batchSize, flushAfterMs } = this.#settings;
    const state = loadState<BatcherState>(ctx, STATE) ?? { batches: 0, items: [] };
    const next: BatcherState = { batches: state.batches, items: [...state.items, message] };
    if (next.items.length >= batchSize) {
      this.#emit(ctx, next, "size");
      return;
    }
    if (next.items.length === 1 && flushAfterMs !== undefined) {
      ctx.deliverLater(TIMER_SLOT, { batch: next.batches + 1 }, flushAfterMs, { key: FLUSH_KEY });
    }
    saveState(ctx, STATE, next);
  }

  /** Emits what is collected, if anything. */
  protected flush(_data: Payload, ctx: HandlerContext): void {
    const state = loadState<BatcherState>(ctx, STATE);
    if (state !== undefined && state.items.length > 0) this.#emit(ctx, state, "flush");
  }

  /** The `flushAfterMs` timer of a batch: emits it unless it was emitted already. */
  protected tick(data: Payload, ctx: HandlerContext): void {
    checkOwnDelivery(ctx, "Batcher");
    const state = loadState<BatcherState>(ctx, STATE);
    if (state === undefined || state.items.length === 0 || data.batch !== state.batches + 1) return;
    this.#emit(ctx, state, "timeout");
  }
}
