import { randomUUID } from "node:crypto";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { currentContext, type ActiveContext, type ExecutionContext, type HandlerContext } from "./context.js";
import { ErrorHandler, ErrorStrategy } from "./error-handler.js";
import { FlowDefinitionError, RoutiluxError, listChoices } from "./errors.js";
import type { AnyRoutineSpec, EmitArgs, EventData, EventName, RoutineSpec, SlotData, SlotName } from "./routine-spec.js";
import { Event, Slot, type MergeStrategy, type Payload, type SlotHandler } from "./slot.js";

const EMPTY: Payload = Object.freeze({});

/** Type only: the brand of {@link AnyRoutine}. @internal */
export declare const kRoutine: unique symbol;

/**
 * Any routine, typed or not: what `flow.addRoutine` takes. Every `Routine` (and subclass, typed
 * with a spec or not) is one; the type is this small so that checking a call costs the compiler
 * next to nothing, however many routines a flow has.
 */
export interface AnyRoutine {
  readonly id: string;
  /** Type only. @internal */
  readonly [kRoutine]: true;
}

/** The options of one slot: how its data merges, and the schema data from outside must fit. */
export interface SlotOptions<T = Payload> {
  /** How data received within one job combines (default "override"); see {@link MergeStrategy}. */
  mergeStrategy?: MergeStrategy;
  /**
   * A Standard Schema (zod, valibot, arktype, ...) that data entering from outside a handler
   * (entry params, answers, documents) must fit; its output type must fit the slot's data type.
   */
  schema?: StandardSchemaV1<unknown, T>;
}

/**
 * A node of a flow: input slots with handlers, output events, static configuration. A routine
 * holds no per-job data, so one routine object serves any number of concurrent jobs.
 *
 * Give it a spec (`Routine<Spec>`) to type it: the spec declares the data of every slot and event
 * once, and `defineSlot`, `defineEvent`, `emit` and the handlers' `data` and `ctx` follow from it,
 * so a misspelled name or a wrong field does not compile. Without one, names are strings and data
 * is `Record<string, unknown>`.
 *
 * @example
 * ```ts
 * interface GreeterSpec {
 *   slots: { trigger: { name: string } };
 *   events: { greeted: { text: string } };
 * }
 * class Greeter extends Routine<GreeterSpec> {
 *   constructor() {
 *     super();
 *     this.defineSlot("trigger", this.greet);
 *     this.defineEvent("greeted", ["text"]);
 *   }
 *   greet(data: { name: string }) {
 *     this.emit("greeted", { text: `hello ${data.name}` });
 *   }
 * }
 * ```
 */
export class Routine<out S extends RoutineSpec = AnyRoutineSpec> implements AnyRoutine {
  /** Unique per instance. Its id within a flow is the one given to `flow.addRoutine`. */
  readonly id: string = randomUUID();
  /** Type only. @internal */
  declare readonly [kRoutine]: true;
  readonly #slots = new Map<string, Slot>();
  readonly #events = new Map<string, Event>();
  #config: Record<string, unknown> = {};
  #errorHandler: ErrorHandler | undefined;

  /**
   * Defines an input slot; the handler runs once per activation, with `this` bound to the routine.
   * In a typed routine the handler's data is the spec's type for this slot (a handler declaring a
   * type that the spec's data fits is accepted too). That type is what the handler gets, so with
   * an "append" or function merge strategy it is the merged data, not what each event carries:
   * connect such a slot with a `paramMapping` or by ids.
   *
   * @param name - unique within the routine; an entry routine needs a slot named "trigger"
   * @param handler - called with the (merged) data and the {@link HandlerContext}; may be async
   * @param options - `mergeStrategy`: how data received within one job combines (default "override");
   * `schema`: a Standard Schema checked where data enters from outside a handler
   * @returns the new slot, a handle for `flow.connect(event, slot)`
   */
  defineSlot<K extends SlotName<S>>(
    name: K,
    handler?: (this: Routine<S>, data: NoInfer<SlotData<S, K>>, ctx: HandlerContext<S>) => void | Promise<void>,
    options?: SlotOptions<NoInfer<SlotData<S, K>>>,
  ): Slot<SlotData<S, K>> {
    checkName("slot", name, this);
    if (this.#slots.has(name)) {
      throw new FlowDefinitionError(`Slot '${name}' is already defined on ${describe(this)}; slot names are unique per routine`);
    }
    if (handler !== undefined && typeof handler !== "function") {
      throw new FlowDefinitionError(`The handler of slot '${name}' on ${describe(this)} must be a function, got ${typeof handler}`);
    }
    const strategy = options?.mergeStrategy ?? "override";
    if (strategy !== "override" && strategy !== "append" && typeof strategy !== "function") {
      throw new FlowDefinitionError(
        `Expected \`mergeStrategy\` of slot '${name}' on ${describe(this)} to be "override", "append" or a function, got \`${String(strategy)}\``,
      );
    }
    const schema = options?.schema;
    if (schema !== undefined && (typeof schema !== "object" || schema === null || typeof (schema as Partial<StandardSchemaV1>)["~standard"]?.validate !== "function")) {
      throw new FlowDefinitionError(
        `Expected \`schema\` of slot '${name}' on ${describe(this)} to be a Standard Schema (zod, valibot, arktype, ...), got ${typeof schema}`,
      );
    }
    const slot = new Slot(this, name, handler as SlotHandler | undefined, strategy, schema);
    this.#slots.set(name, slot);
    return slot as Slot<SlotData<S, K>>;
  }

  /**
   * Defines an output event; `outputParams` documents the keys of its data.
   * @returns the new event, a handle for `flow.connect(event, slot)`
   */
  defineEvent<K extends EventName<S>>(name: K, outputParams: Array<NoInfer<keyof EventData<S, K> & string>> = []): Event<EventData<S, K>> {
    checkName("event", name, this);
    if (this.#events.has(name)) {
      throw new FlowDefinitionError(`Event '${name}' is already defined on ${describe(this)}; event names are unique per routine`);
    }
    if (!Array.isArray(outputParams) || outputParams.some((p) => typeof p !== "string")) {
      throw new FlowDefinitionError(`Expected \`outputParams\` of event '${name}' on ${describe(this)} to be an array of strings, got ${String(outputParams)}`);
    }
    const event = new Event(this, name, Object.freeze([...outputParams]));
    this.#events.set(name, event);
    return event as Event<EventData<S, K>>;
  }

  /** The slot named `name`, or `undefined` if this routine has none (typed by the spec, like `defineSlot`'s result). */
  getSlot<K extends SlotName<S>>(name: K): Slot<SlotData<S, K>> | undefined {
    return this.#slots.get(name) as Slot<SlotData<S, K>> | undefined;
  }

  /** The event named `name`, or `undefined` if this routine has none (typed by the spec, like `defineEvent`'s result). */
  getEvent<K extends EventName<S>>(name: K): Event<EventData<S, K>> | undefined {
    return this.#events.get(name) as Event<EventData<S, K>> | undefined;
  }

  /** The routine's slots, by name. */
  get slots(): ReadonlyMap<string, Slot> {
    return this.#slots;
  }

  /** The routine's events, by name. */
  get events(): ReadonlyMap<string, Event> {
    return this.#events;
  }

  /**
   * Emits an event of this routine in the current job: one task per connected slot is queued.
   * Never blocks. Throws outside a job, or for an event this routine does not define.
   */
  emit<K extends EventName<S>>(eventName: K, ...data: EmitArgs<S, K>): void;
  // One optional parameter rather than a rest array: emit is on every task's path.
  emit(eventName: EventName<S>, data?: unknown): void {
    const ctx = this.#active("emit");
    if (!this.#events.has(eventName)) throw this.#unknownEvent(eventName);
    ctx.emitAs(this.#idIn(ctx), eventName, data === undefined ? EMPTY : (data as Payload));
  }

  /** Sends execution-specific output to the current job's output handler and output log. */
  sendOutput(outputType: string, data: Payload = EMPTY): void {
    const ctx = this.#active("sendOutput");
    ctx.sendOutputAs(this.#idIn(ctx), outputType, data);
  }

  /** Stores an event in the current job; it is emitted when the job is resumed. */
  emitDeferredEvent<K extends EventName<S>>(eventName: K, ...data: EmitArgs<S, K>): void {
    const ctx = this.#active("emitDeferredEvent");
    if (!this.#events.has(eventName)) throw this.#unknownEvent(eventName);
    ctx.emitDeferredAs(this.#idIn(ctx), eventName, data[0] === undefined ? EMPTY : (data[0] as Payload));
  }

  /** The current job's context (flow, jobState, routineId), or undefined outside a job. */
  getExecutionContext(): ExecutionContext | undefined {
    return currentContext();
  }

  /** Merges `values` into the routine's static configuration. */
  setConfig(values: Record<string, unknown>): void {
    this.#config = { ...this.#config, ...values };
  }

  /** A configuration value, or `defaultValue` when it is not set. */
  getConfig<T = unknown>(key: string, defaultValue?: T): T {
    return (Object.hasOwn(this.#config, key) ? this.#config[key] : defaultValue) as T;
  }

  /** The static configuration (a frozen copy). */
  get config(): Readonly<Record<string, unknown>> {
    return Object.freeze({ ...this.#config });
  }

  /**
   * Sets what happens when one of this routine's handlers throws; it wins over the flow's
   * handler. `undefined` removes it, so the flow's (else STOP) applies.
   */
  setErrorHandler(handler: ErrorHandler | undefined): void {
    if (handler !== undefined && !(handler instanceof ErrorHandler)) {
      throw new RoutiluxError(`Expected an ErrorHandler or undefined for ${describe(this)}, got ${typeof handler}`);
    }
    this.#errorHandler = handler;
  }

  /** This routine's own error handler, if one is set (the flow's is not consulted). */
  getErrorHandler(): ErrorHandler | undefined {
    return this.#errorHandler;
  }

  /** A failure of this routine does not fail the job: "continue" (default) or "skip". */
  setAsOptional(strategy: "continue" | "skip" = ErrorStrategy.CONTINUE): void {
    if (strategy !== ErrorStrategy.CONTINUE && strategy !== ErrorStrategy.SKIP) {
      throw new RoutiluxError(`Expected \`strategy\` of setAsOptional on ${describe(this)} to be "continue" or "skip", got \`${String(strategy)}\``);
    }
    this.#errorHandler = new ErrorHandler({ strategy });
  }

  /** Retries this routine on failure; when the retries are exhausted the job fails. */
  setAsCritical(options: { maxRetries?: number; retryDelayMs?: number; retryBackoff?: number } = {}): void {
    this.#errorHandler = new ErrorHandler({ ...options, strategy: ErrorStrategy.RETRY, isCritical: true });
  }

  #active(operation: string): ActiveContext {
    const ctx = currentContext();
    if (ctx === undefined) {
      throw new RoutiluxError(
        `${operation}() was called on ${describe(this)} outside a job; it works only inside a slot handler run by flow.execute()`,
      );
    }
    return ctx;
  }

  #idIn(ctx: ActiveContext): string {
    if (ctx.routine === this) return ctx.routineId;
    const id = ctx.routineIdOf(this);
    if (id === undefined) {
      throw new RoutiluxError(`${describe(this)} is not part of flow '${ctx.flow.flowId}', so it cannot emit in its jobs`);
    }
    return id;
  }

  #unknownEvent(eventName: string): RoutiluxError {
    return new RoutiluxError(`Event '${eventName}' is not defined on ${describe(this)}; its events are: ${listChoices(eventName, this.#events.keys())}`);
  }
}

function describe(routine: { readonly id: string }): string {
  return `routine ${routine.constructor.name || "(anonymous)"} (${routine.id})`;
}

function checkName(kind: string, name: unknown, routine: { readonly id: string }): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new FlowDefinitionError(`Expected a non-empty ${kind} name on ${describe(routine)}, got \`${String(name)}\``);
  }
}
