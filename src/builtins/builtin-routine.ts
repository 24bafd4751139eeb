/**
 * What the built-in routines share: configuration checked when it is set, the value a message
 * carries, per-job state kept in the job's routine state, and the slot their timers deliver to.
 */
import type { HandlerContext } from "../core/context.js";
import { FlowDefinitionError, RoutiluxError } from "../core/errors.js";
import { Routine } from "../core/routine.js";
import type { Payload } from "../core/slot.js";
import { describe, isPlainObject } from "./config.js";

/**
 * The base of every built-in routine. `setConfig` checks the whole resulting configuration
 * before it takes effect: a wrong value throws a FlowDefinitionError and leaves the routine as it
 * was. Defaults are not written into the configuration, so a flow document holds only what was set.
 *
 * Handlers of built-ins are synchronous: a handler reads its routine state, decides and writes it
 * back within one turn of the event loop, so two activations of one routine in one job never
 * interleave, even with the "concurrent" strategy.
 */
export abstract class BuiltinRoutine extends Routine {
  /**
   * Merges `values` into the configuration after checking the result.
   * @throws FlowDefinitionError naming the routine class, the key and the value at fault (for an
   *   expression: the expression and the offset of the problem)
   */
  override setConfig(values: Record<string, unknown>): void {
    if (!isPlainObject(values)) {
      throw new FlowDefinitionError(`Expected the config of ${this.constructor.name} to be an object, got ${describe(values)}`);
    }
    this.configure({ ...this.config, ...values });
    super.setConfig(values);
  }

  /** Checks a whole configuration and takes its parsed form; throws FlowDefinitionError without changing anything. */
  protected abstract configure(config: Readonly<Record<string, unknown>>): void;
}

/**
 * The value a message carries for the Python system's eight built-ins: its `data` field when
 * present, else the whole message (no other unwrapping).
 */
export function valueOf(message: Payload): unknown {
  return Object.hasOwn(message, "data") && message.data !== undefined ? message.data : message;
}

/** A built-in's own part of its routine state in the current job (`routineStates[id][key]`). */
export function loadState<T>(ctx: HandlerContext, key: string): T | undefined {
  return ctx.jobState.getRoutineState(ctx.routineId)?.[key] as T | undefined;
}

/**
 * Replaces a built-in's own part of its routine state in the current job, keeping the rest (the
 * engine's `status`). Like every write of a handler, it takes effect when the handler succeeds.
 */
export function saveState(ctx: HandlerContext, key: string, value: unknown): void {
  const state = { ...ctx.jobState.getRoutineState(ctx.routineId) };
  if (value === undefined) delete state[key];
  else state[key] = value;
  ctx.jobState.updateRoutineState(ctx.routineId, state);
}

/** The slot a built-in's timers (`ctx.deliverLater`) deliver to. */
export const TIMER_SLOT = "timer";

/**
 * Refuses data on a timer slot that did not come from the routine's own `deliverLater` (a
 * connection wired to it): a timer cannot be forged from outside.
 */
export function checkOwnDelivery(ctx: HandlerContext, owner: string): void {
  const source = ctx.source;
  if (source !== undefined) {
    throw new RoutiluxError(
      `Slot '${TIMER_SLOT}' of ${owner} '${ctx.routineId}' takes only the routine's own delayed deliveries; ` +
      `it got data from '${source.routineId}.${source.eventName}'. Connect to its 'input' slot instead`,
    );
  }
}
