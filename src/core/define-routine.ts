import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { HandlerContext } from "./context.js";
import { FlowDefinitionError, showValue } from "./errors.js";
import { Routine } from "./routine.js";
import type { AnyRoutineSpec, EventData, EventName, Payload, RoutineSpec, SlotData, SlotName } from "./routine-spec.js";
import type { Event, MergeStrategy, Slot, SlotHandler } from "./slot.js";

/** A slot of {@link defineRoutine} given with options: its handler (optional), merge strategy and schema. */
export interface SlotDefinition<S extends RoutineSpec, K extends SlotName<S>> {
  handler?: (this: Routine<S>, data: NoInfer<SlotData<S, K>>, ctx: HandlerContext<S>) => void | Promise<void>;
  mergeStrategy?: MergeStrategy;
  schema?: StandardSchemaV1<unknown, NoInfer<SlotData<S, K>>>;
}

/** The events of {@link defineRoutine}: each event's documented parameter names. */
export type EventDefinitions<S extends RoutineSpec> = { [K in EventName<S>]: ReadonlyArray<keyof EventData<S, K> & string> };

/**
 * What {@link defineRoutine} builds a routine from: a handler (or {@link SlotDefinition}) per slot
 * of the spec, and the parameter names of each event of the spec (required when the spec
 * declares events). `name` names the routine's class in flow documents.
 */
export type RoutineDefinition<S extends RoutineSpec = AnyRoutineSpec> = {
  /** The class name flow documents use for this routine (unless a registry names its class otherwise). */
  name?: string;
  slots: { [K in SlotName<S>]: SlotDefinition<S, K>["handler"] | SlotDefinition<S, K> };
} & (Record<never, never> extends EventDefinitions<S> ? { events?: EventDefinitions<S> } : { events: EventDefinitions<S> });

/**
 * A routine built by {@link defineRoutine}. Its class (`routine.constructor`) builds the same
 * routine without arguments: register it to rebuild flows holding it from documents. Typed, it
 * has every slot and event of its spec, so `getSlot` and `getEvent` give handles for
 * `flow.connect(event, slot)` without `undefined`.
 */
export interface DefinedRoutine<S extends RoutineSpec = AnyRoutineSpec> extends Routine<S> {
  readonly constructor: new () => DefinedRoutine<S>;
  getSlot<K extends SlotName<S>>(name: K): Defined<S, Slot<SlotData<S, K>>>;
  getSlot<K extends SlotName<S>>(name: K): Slot<SlotData<S, K>> | undefined;
  getEvent<K extends EventName<S>>(name: K): Defined<S, Event<EventData<S, K>>>;
  getEvent<K extends EventName<S>>(name: K): Event<EventData<S, K>> | undefined;
}

/** A handle of a defined routine: always there when typed, maybe not when untyped. */
type Defined<S extends RoutineSpec, H> = AnyRoutineSpec extends S ? H | undefined : H;

/**
 * Builds a routine from functions, for small steps that need no class: one handler per slot and
 * the parameter names of each event. Give the spec as the type parameter to type it (handlers get
 * the spec's data, `ctx.emit` takes the spec's events); without one, data is `Record<string, unknown>`.
 * Handlers are called with `this` bound to the routine. The result is a `Routine` like any other.
 *
 * Flow documents name it by `name` (or by the name its class is registered under). To rebuild a
 * flow holding it from a document, register its class under that name:
 * `defaultRegistry.register("Summarize", summarize.constructor)`. Without `name`, its class is
 * anonymous and `flow.serialize()` refuses it.
 *
 * @example
 * ```ts
 * const summarize = defineRoutine<{ slots: { input: { text: string } }; events: { done: { summary: string } } }>({
 *   name: "Summarize",
 *   slots: { input: (data, ctx) => ctx.emit("done", { summary: data.text.slice(0, 80) }) },
 *   events: { done: ["summary"] },
 * });
 * ```
 * @throws FlowDefinitionError for a malformed definition (naming the slot or event at fault)
 */
export function defineRoutine<S extends RoutineSpec = AnyRoutineSpec>(definition: RoutineDefinition<S>): DefinedRoutine<S> {
  const { name, slots, events } = checkDefinition(definition);
  const Defined = class extends Routine {
    constructor() {
      super();
      for (const [slotName, slot] of slots) {
        if (typeof slot === "function") this.defineSlot(slotName, slot);
        else this.defineSlot(slotName, slot.handler, slot);
      }
      for (const [eventName, params] of events) this.defineEvent(eventName, [...params]);
    }
  };
  Object.defineProperty(Defined, "name", { value: name });
  return new Defined() as unknown as DefinedRoutine<S>;
}

type CheckedSlot = SlotHandler | { handler?: SlotHandler; mergeStrategy?: MergeStrategy; schema?: StandardSchemaV1<unknown, Payload> };

interface CheckedDefinition {
  name: string;
  slots: Array<[string, CheckedSlot]>;
  events: Array<[string, readonly string[]]>;
}

/** The definition's parts, checked, so that a malformed one fails here with the name at fault. */
function checkDefinition(definition: unknown): CheckedDefinition {
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    throw new FlowDefinitionError(`Expected defineRoutine's definition to be an object { name?, slots, events? }, got ${showValue(definition)}`);
  }
  const { name, slots, events } = definition as { name?: unknown; slots?: unknown; events?: unknown };
  if (name !== undefined && (typeof name !== "string" || name === "")) {
    throw new FlowDefinitionError(`Expected \`name\` of defineRoutine to be a non-empty string, got ${showValue(name)}`);
  }
  const label = name === undefined ? "defineRoutine" : `defineRoutine '${name}'`;
  if (typeof slots !== "object" || slots === null || Array.isArray(slots)) {
    throw new FlowDefinitionError(`Expected \`slots\` of ${label} to be an object of handlers by slot name, got ${showValue(slots)}`);
  }
  const checkedSlots = Object.entries(slots).map(([slotName, slot]): [string, CheckedSlot] => {
    if (typeof slot === "function" || (typeof slot === "object" && slot !== null && !Array.isArray(slot))) return [slotName, slot as CheckedSlot];
    throw new FlowDefinitionError(
      `Expected slot '${slotName}' of ${label} to be a handler or { handler?, mergeStrategy?, schema? }, got ${showValue(slot)}`,
    );
  });
  if (events !== undefined && (typeof events !== "object" || events === null || Array.isArray(events))) {
    throw new FlowDefinitionError(`Expected \`events\` of ${label} to be an object of parameter-name lists by event name, got ${showValue(events)}`);
  }
  const checkedEvents = Object.entries(events ?? {}).map(([eventName, params]): [string, readonly string[]] => {
    if (!Array.isArray(params) || params.some((p) => typeof p !== "string")) {
      throw new FlowDefinitionError(`Expected event '${eventName}' of ${label} to list its parameter names (an array of strings), got ${showValue(params)}`);
    }
    return [eventName, params as string[]];
  });
  return { name: name ?? "", slots: checkedSlots, events: checkedEvents };
}
