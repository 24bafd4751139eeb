// The types of a typed routine: its spec (slot and event payloads, declared once) and the lookups
// that every typed signature uses. Types only: nothing here exists at run time.

/** Data passed to handlers and carried by events: a plain JSON object. */
export type Payload = Record<string, unknown>;

/**
 * What a typed routine declares once: the data type of each of its slots and events, by name.
 * A spec without `slots` (or `events`) declares none of them.
 *
 * @example
 * ```ts
 * interface SummarizeSpec {
 *   slots: { input: { text: string } };
 *   events: { done: { summary: string } };
 * }
 * class Summarize extends Routine<SummarizeSpec> { ... }
 * ```
 */
export interface RoutineSpec {
  slots?: Record<string, object>;
  events?: Record<string, object>;
}

/**
 * The spec of an untyped routine: any slot or event name, payloads `Record<string, unknown>`.
 * (Its payloads are declared `any` so that every typed spec fits it: `Routine<S>` is covariant in
 * `S`, so every typed routine is a `Routine`. {@link SlotMap} and {@link EventMap} read them as
 * `Record<string, unknown>`.)
 */
export interface AnyRoutineSpec {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  slots?: Record<string, any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  events?: Record<string, any>;
}

/**
 * The slots of a spec, by name (`{}` when it declares none). Lookups, not `infer`: they are what
 * every typed call instantiates, so they are kept cheap for the compiler.
 */
export type SlotMap<S extends RoutineSpec> = AnyRoutineSpec extends S ? Record<string, Payload> : NonNullable<S["slots"]>;

/** The events of a spec, by name (`{}` when it declares none). */
export type EventMap<S extends RoutineSpec> = AnyRoutineSpec extends S ? Record<string, Payload> : NonNullable<S["events"]>;

/** The slot names of a spec (`string` for an untyped routine). */
export type SlotName<S extends RoutineSpec> = keyof SlotMap<S> & string;

/** The event names of a spec (`string` for an untyped routine). */
export type EventName<S extends RoutineSpec> = keyof EventMap<S> & string;

/** The data a slot's handler receives. */
export type SlotData<S extends RoutineSpec, K extends SlotName<S>> = SlotMap<S>[K];

/** The data an event carries. */
export type EventData<S extends RoutineSpec, K extends EventName<S>> = EventMap<S>[K];

/**
 * The data argument of an emit: optional when an empty object fits the event's type (every
 * untyped event, and typed events whose fields are all optional), required otherwise.
 */
export type EmitArgs<S extends RoutineSpec, K extends EventName<S>> =
  Record<never, never> extends EventData<S, K> ? [data?: EventData<S, K>] : [data: EventData<S, K>];
