import type { HandlerContext } from "../core/context.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, TIMER_SLOT, checkOwnDelivery } from "./builtin-routine.js";
import { ConfigReader, isPlainObject } from "./config.js";

const KEYS = ["delayMs"] as const;

/**
 * Passes each message on after a delay, holding no worker while it waits.
 *
 * - Slots: `input` (and `trigger`); `timer` is its own (it takes only the routine's delayed
 *   deliveries).
 * - Event: `output`, the message as it arrived, `delayMs` after it arrived.
 * - Config: `delayMs` (milliseconds from 0 and up, default 0).
 *
 * The wait is a delayed delivery stored with the job (`ctx.deliverLater`): it counts as work of
 * the job (which does not complete before it), and it survives a pause, serialization and a
 * crash; a job resumed after the time has passed delivers at once. Messages keep their order
 * when they arrive in order. Its per-job state is the job's delayed task itself.
 *
 * @example
 * ```ts
 * const later = new Delay();
 * later.setConfig({ delayMs: 60_000 });
 * flow.connect("signup", "created", "later", "input");
 * flow.connect("later", "output", "welcome", "input");
 * ```
 */
export class Delay extends BuiltinRoutine {
  #delayMs = 0;

  constructor() {
    super();
    this.defineSlot("input", this.hold);
    this.defineSlot("trigger", this.hold);
    this.defineSlot(TIMER_SLOT, this.release);
    this.defineEvent("output");
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#delayMs = new ConfigReader("Delay", config, KEYS).number("delayMs", 0, { min: 0 });
  }

  /** Holds the message for `delayMs`. */
  protected hold(message: Payload, ctx: HandlerContext): void {
    ctx.deliverLater(TIMER_SLOT, { message }, this.#delayMs);
  }

  /** The delay has passed: emits the message. */
  protected release(data: Payload, ctx: HandlerContext): void {
    checkOwnDelivery(ctx, "Delay");
    this.emit("output", isPlainObject(data.message) ? data.message : {});
  }
}
