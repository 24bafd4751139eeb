import type { HandlerContext } from "../core/context.js";
import { FlowDefinitionError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, TIMER_SLOT, checkOwnDelivery, loadState, saveState } from "./builtin-routine.js";
import { ConfigReader } from "./config.js";

const KEYS = ["waitMs", "leading", "trailing", "maxWaitMs"] as const;
const STATE = "debouncer";

interface DebouncerSettings {
  waitMs: number;
  leading: boolean;
  trailing: boolean;
  maxWaitMs: number | undefined;
}

/** The routine state of a Debouncer in one job. */
interface DebouncerState {
  /** Generation of the last timer set; a delivery of an older one is stale. */
  gen: number;
  /** The generation of the timer now running, if one is. */
  timer?: number;
  /** When the current burst began, and when its last message came (clock milliseconds). */
  burstAt?: number;
  lastAt?: number;
  /** The last message of the burst not yet emitted. */
  pending?: Payload;
}

function parse(config: Readonly<Record<string, unknown>>): DebouncerSettings {
  const read = new ConfigReader("Debouncer", config, KEYS);
  const settings = {
    waitMs: read.number("waitMs", 300, { min: 0 }),
    leading: read.boolean("leading", false),
    trailing: read.boolean("trailing", true),
    maxWaitMs: read.optionalNumber("maxWaitMs", { min: 0 }),
  };
  if (!settings.leading && !settings.trailing) {
    throw new FlowDefinitionError("Debouncer with `leading` and `trailing` both false would never emit; set one of them to true");
  }
  return settings;
}

/**
 * Emits the last of a burst of messages once they stop coming for `waitMs` (search-as-you-type,
 * bursts of change events).
 *
 * - Slots: `input` (and `trigger`); `timer` is its own.
 * - Event: `output`, the last message of the burst, as it arrived.
 * - Config: `waitMs` (quiet time, default 300), `leading` (default false: also emit the first
 *   message of a burst at once), `trailing` (default true: emit the last one after the quiet
 *   time), `maxWaitMs` (optional: a burst longer than this is cut, its last message emitted,
 *   and the next message starts a new burst).
 *
 * Per job: the burst (its last message, when it began, when its last message came) is in the
 * job's routine state under `debouncer`; one timer at a time is stored with the job
 * (`ctx.deliverLater`), set again for the rest of the quiet time when messages kept coming, and
 * numbered, so a stale delivery is ignored. So it survives a pause, serialization and a crash,
 * and two jobs never share a burst.
 *
 * @example
 * ```ts
 * const settle = new Debouncer();
 * settle.setConfig({ waitMs: 500 });
 * flow.connect("editor", "changed", "settle", "input");
 * flow.connect("settle", "output", "save", "input");
 * ```
 */
export class Debouncer extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.take);
    this.defineSlot("trigger", this.take);
    this.defineSlot(TIMER_SLOT, this.tick);
    this.defineEvent("output");
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  #dueAt(state: DebouncerState): number {
    const { waitMs, maxWaitMs } = this.#settings;
    const quiet = (state.lastAt ?? 0) + waitMs;
    return maxWaitMs === undefined ? quiet : Math.min(quiet, (state.burstAt ?? 0) + maxWaitMs);
  }

  #arm(state: DebouncerState, ctx: HandlerContext, now: number): DebouncerState {
    const gen = state.gen + 1;
    ctx.deliverLater(TIMER_SLOT, { gen }, Math.max(0, this.#dueAt(state) - now));
    return { ...state, gen, timer: gen };
  }

  /** A message: starts or extends the burst. */
  protected take(message: Payload, ctx: HandlerContext): void {
    const now = ctx.flow.clock.now();
    let state: DebouncerState = loadState<DebouncerState>(ctx, STATE) ?? { gen: 0 };
    if (state.burstAt === undefined) {
      state = { gen: state.gen, burstAt: now, lastAt: now };
      if (this.#settings.leading) this.emit("output", message);
      else state.pending = message;
    } else {
      state = { ...state, lastAt: now, pending: message };
    }
    if (state.timer === undefined) state = this.#arm(state, ctx, now);
    saveState(ctx, STATE, state);
  }

  /** The timer: emits when the quiet time has passed, else waits for the rest of it. */
  protected tick(data: Payload, ctx: HandlerContext): void {
    checkOwnDelivery(ctx, "Debouncer");
    const state = loadState<DebouncerState>(ctx, STATE);
    if (state === undefined || state.timer === undefined || data.gen !== state.timer) return;
    const now = ctx.flow.clock.now();
    if (now < this.#dueAt(state)) {
      saveState(ctx, STATE, this.#arm(state, ctx, now));
      return;
    }
    if (this.#settings.trailing && state.pending !== undefined) this.emit("output", state.pending);
    saveState(ctx, STATE, { gen: state.gen });
  }
}
