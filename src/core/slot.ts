import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { HandlerContext } from "./context.js";
import type { Routine } from "./routine.js";

/** Data passed to handlers and carried by events: a plain JSON object. */
export type Payload = Record<string, unknown>;

/** A slot's handler. Called with `this` bound to its routine, the merged data and the context. */
export type SlotHandler = (this: Routine, data: Payload, ctx: HandlerContext) => void | Promise<void>;

/**
 * How a slot combines the data it receives within one job: `"override"` (default) passes the
 * incoming data; `"append"` keeps, per key, the list of every value received so far; a function
 * gets the previous merged data and the incoming data and returns the new merged data.
 */
export type MergeStrategy = "override" | "append" | ((previous: Payload, incoming: Payload) => Payload);

/** An input of a routine: a name, an optional handler and a merge strategy. */
export class Slot {
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

/** An output of a routine: a name and the parameters it documents. */
export class Event {
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
  return strategy(previous ?? {}, incoming);
}
