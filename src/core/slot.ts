import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { HandlerContext } from "./context.js";
import type { Routine } from "./routine.js";
import type { AnyRoutineSpec, Payload, RoutineSpec, SlotData, SlotName } from "./routine-spec.js";
import { RoutiluxError, showValue } from "./errors.js";
import { checkJsonValue } from "./json-value.js";

export type { Payload };

/**
 * A slot's handler: called with `this` bound to its routine, the slot's (merged) data and the
 * context. Untyped (`SlotHandler`) it gets `Record<string, unknown>`; `SlotHandler<Spec, "input">`
 * gets the data the spec declares for slot "input".
 */
export type SlotHandler<S extends RoutineSpec = AnyRoutineSpec, K extends SlotName<S> = SlotName<S>> =
  (this: Routine<S>, data: SlotData<S, K>, ctx: HandlerContext<S>) => void | Promise<void>;

/**
 * Type-only keys of the payload types of {@link Slot} and {@link Event}; nothing exists at run time.
 * @internal
 */
export declare const kAccepts: unique symbol;
/** @internal */
export declare const kCarries: unique symbol;

/**
 * How a slot combines the data it receives within one job: `"override"` (default) passes the
 * incoming data; `"append"` keeps, per key, the list of every value received so far; a function
 * gets the previous merged data and the incoming data and returns the new merged data.
 */
export type MergeStrategy = "override" | "append" | ((previous: Payload, incoming: Payload) => Payload);

/**
 * An input of a routine: a name, an optional handler and a merge strategy. `T` is the data it
 * accepts (`routine.defineSlot` of a typed routine gives `Slot<SlotData<Spec, name>>`): a slot that
 * accepts `{ a: string }` accepts any data with such an `a`, so `Slot<T>` is contravariant in `T`.
 */
export class Slot<T = Payload> {
  /** Type only: the data this slot accepts. */
  declare readonly [kAccepts]?: (data: T) => void;
  /** The slot's name, unique within its routine. */
  readonly name: string;
  /** The routine that defines it. */
  readonly routine: Routine;
  /** Runs once per activation; without one, an activation only merges its data. */
  readonly handler: SlotHandler | undefined;
  /** How data received within one job is combined; see {@link MergeStrategy}. */
  readonly mergeStrategy: MergeStrategy;
  /** Checks data that enters this slot from outside a handler (entry params, answers, HTTP), if given. */
  readonly schema: StandardSchemaV1 | undefined;

  /** @internal Use `routine.defineSlot`. */
  constructor(routine: Routine, name: string, handler: SlotHandler | undefined, mergeStrategy: MergeStrategy, schema?: StandardSchemaV1) {
    this.routine = routine;
    this.name = name;
    this.handler = handler;
    this.mergeStrategy = mergeStrategy;
    this.schema = schema;
  }
}

/**
 * An output of a routine: a name and the parameters it documents. `T` is the data it carries
 * (`routine.defineEvent` of a typed routine gives `Event<EventData<Spec, name>>`).
 */
export class Event<T = Payload> {
  /** Type only: the data this event carries. */
  declare readonly [kCarries]?: T;
  /** The event's name, unique within its routine. */
  readonly name: string;
  /** The routine that defines it. */
  readonly routine: Routine;
  /** The keys its data is documented to have (not enforced). */
  readonly outputParams: readonly string[];

  /** @internal Use `routine.defineEvent`. */
  constructor(routine: Routine, name: string, outputParams: readonly string[]) {
    this.routine = routine;
    this.name = name;
    this.outputParams = outputParams;
  }
}

/**
 * Merges `incoming` into a slot's previous merged data (`undefined` on the first activation of
 * the slot in a job) and returns the data to pass to the handler.
 * @internal
 */
export function mergeSlotData(strategy: MergeStrategy, previous: Payload | undefined, incoming: Payload): Payload {
  if (strategy === "override") return incoming;
  if (strategy === "append") {
    const merged: Payload = {};
    if (previous !== undefined) for (const key in previous) merged[key] = previous[key];
    for (const key in incoming) {
      const list = merged[key];
      merged[key] = Array.isArray(list) ? [...(list as unknown[]), incoming[key]] : [incoming[key]];
    }
    return merged;
  }
  const merged: unknown = strategy(previous ?? {}, incoming);
  if (typeof merged !== "object" || merged === null || Array.isArray(merged)) {
    throw new RoutiluxError(`A merge function must return a plain object (the data its slot's handler receives), got ${showValue(merged)}`);
  }
  // What a merge function makes is job state (the slot's buffer): plain JSON, like every write.
  checkJsonValue(merged, "the result of a merge function", "merged");
  return merged as Payload;
}
