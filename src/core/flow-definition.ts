import { randomUUID } from "node:crypto";
import { Connection } from "./connection.js";
import { ErrorHandler } from "./error-handler.js";
import { FlowDefinitionError, listChoices, showValue } from "./errors.js";
import { Routine, type AnyRoutine } from "./routine.js";
import { Event, Slot } from "./slot.js";

/** "sequential" runs one handler at a time; "concurrent" up to `maxWorkers`. */
export type ExecutionStrategy = "sequential" | "concurrent";

const DEFAULT_WORKERS: Record<ExecutionStrategy, number> = { sequential: 1, concurrent: 5 };

/** Options of a flow's definition (the runtime adds its own). */
export interface FlowDefinitionOptions {
  /** Default: a UUID. */
  flowId?: string;
  /** Default "sequential". */
  executionStrategy?: ExecutionStrategy;
  /** At most this many handlers run at once across all jobs ("concurrent" only; default 5). "sequential" runs one. */
  maxWorkers?: number;
  /** A job running longer is failed. Default: none. */
  executionTimeoutMs?: number;
  /** The flow-level error handler; a routine's own handler wins. */
  errorHandler?: ErrorHandler;
}

function checkStrategy(strategy: unknown): ExecutionStrategy {
  if (strategy !== "sequential" && strategy !== "concurrent") {
    throw new FlowDefinitionError(
      `Expected \`executionStrategy\` to be "sequential" or "concurrent", got \`${String(strategy)}\` (${typeof strategy})`,
    );
  }
  return strategy;
}

function checkWorkers(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new FlowDefinitionError(`Expected \`maxWorkers\` to be an integer from 1 and up, got ${showValue(value)} (${typeof value})`);
  }
  return value;
}

/** The worker count: a given `maxWorkers` is checked; "sequential" always runs one handler at a time. */
function workersFor(strategy: ExecutionStrategy, maxWorkers: unknown): number {
  const workers = maxWorkers === undefined ? DEFAULT_WORKERS[strategy] : checkWorkers(maxWorkers);
  return strategy === "sequential" ? 1 : workers;
}

/** Checks a timeout option: undefined, or milliseconds above 0. @internal */
export function checkTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new FlowDefinitionError(`Expected \`${name}\` to be a finite number of milliseconds above 0, got ${showValue(value)} (${typeof value})`);
  }
  return value;
}

function isRoutine(value: unknown): value is Routine {
  return value instanceof Routine;
}

/**
 * The static part of a flow: routines, connections, strategy, error handler. Holds no job state.
 * `Flow` adds execution on top of it.
 */
export class FlowDefinition {
  /** The flow's id: jobs carry it, and a job resumes only on a flow with the same id. */
  readonly flowId: string;
  readonly #routines = new Map<string, Routine>();
  readonly #ids = new Map<Routine, string>();
  readonly #connections: Connection[] = [];
  /** routineId -> event -> connections, for O(1) fan-out lookup on emit. */
  readonly #outgoing = new Map<string, Map<string, Connection[]>>();
  readonly #byId = new Map<string, Connection>();
  #strategy: ExecutionStrategy;
  #maxWorkers: number;
  #errorHandler: ErrorHandler | undefined;
  /** A job running longer than this is failed (per-job `timeoutMs` overrides it); `undefined`: no limit. */
  readonly executionTimeoutMs: number | undefined;

  constructor(options: FlowDefinitionOptions = {}) {
    if (options.flowId !== undefined && (typeof options.flowId !== "string" || options.flowId.length === 0)) {
      throw new FlowDefinitionError(`Expected \`flowId\` to be a non-empty string, got \`${String(options.flowId)}\``);
    }
    this.flowId = options.flowId ?? randomUUID();
    this.#strategy = checkStrategy(options.executionStrategy ?? "sequential");
    this.#maxWorkers = workersFor(this.#strategy, options.maxWorkers);
    this.executionTimeoutMs = checkTimeout(options.executionTimeoutMs, "executionTimeoutMs");
    this.setErrorHandler(options.errorHandler);
  }

  /** The routines of the flow, by routine id. */
  get routines(): ReadonlyMap<string, Routine> {
    return this.#routines;
  }

  /** The connections of the flow, in the order they were made. */
  get connections(): readonly Connection[] {
    return this.#connections;
  }

  /** "sequential" (one handler at a time) or "concurrent" (up to `maxWorkers`); change it with `setExecutionStrategy`. */
  get executionStrategy(): ExecutionStrategy {
    return this.#strategy;
  }

  /** At most this many handlers run at once, across all jobs of the flow. */
  get maxWorkers(): number {
    return this.#maxWorkers;
  }

  /** The flow-level error handler, used for routines without their own. */
  get errorHandler(): ErrorHandler | undefined {
    return this.#errorHandler;
  }

  /** Adds a routine under `routineId` (default: `routine.id`) and returns the id. A duplicate id throws. */
  addRoutine(routine: AnyRoutine, routineId?: string): string {
    if (!isRoutine(routine)) {
      const under = routineId === undefined ? "" : ` (as '${String(routineId)}')`;
      throw new FlowDefinitionError(
        `addRoutine on flow '${this.flowId}'${under} expects a Routine instance, got ${routine === null ? "null" : typeof routine}`,
      );
    }
    const id = routineId ?? routine.id;
    if (typeof id !== "string" || id.length === 0) {
      throw new FlowDefinitionError(`Expected a non-empty routine id for addRoutine on flow '${this.flowId}', got \`${String(id)}\``);
    }
    if (this.#routines.has(id)) {
      throw new FlowDefinitionError(`Routine id '${id}' is already used in flow '${this.flowId}'; routine ids are unique per flow`);
    }
    this.#routines.set(id, routine);
    if (!this.#ids.has(routine)) this.#ids.set(routine, id);
    return id;
  }

  /** The routine with this id, or `undefined`. */
  getRoutine(routineId: string): Routine | undefined {
    return this.#routines.get(routineId);
  }

  /** The id under which a routine object was first added to this flow. */
  routineIdOf(routine: AnyRoutine): string | undefined {
    return this.#ids.get(routine as Routine);
  }

  /**
   * Wires an event to a slot, given the handles `defineEvent` and `defineSlot` returned: the
   * event's payload type must fit the slot's data type. Both routines must be in this flow (under
   * the id they were first added with).
   *
   * @example
   * ```ts
   * flow.connect(summarize.done, report.input);
   * ```
   * @returns the new connection
   * @throws FlowDefinitionError for a routine that is not in this flow, or the same event connected to the same slot twice
   */
  connect<T>(source: Event<T>, target: Slot<NoInfer<T>>, paramMapping?: undefined): Connection;
  /**
   * Wires an event to a slot, given their handles, renaming parameters on the way
   * (`{a: "x"}` turns `{a: 1, b: 2}` into `{x: 1, b: 2}`); payload types are not compared.
   */
  connect(source: Event<unknown>, target: Slot<never>, paramMapping: Record<string, string>): Connection;
  /**
   * Wires an event of one routine to a slot of another, by routine ids and names. `paramMapping`
   * renames event parameters to slot parameters (`{a: "x"}` turns `{a: 1, b: 2}` into `{x: 1, b: 2}`).
   *
   * @returns the new connection
   * @throws FlowDefinitionError for an unknown routine id, event or slot (naming the valid ones),
   * a bad mapping, or the same event connected to the same slot twice
   */
  connect(
    sourceRoutineId: string,
    sourceEvent: string,
    targetRoutineId: string,
    targetSlot: string,
    paramMapping?: Record<string, string>,
  ): Connection;
  connect(
    ...args: [Event<unknown>, Slot<never>, Record<string, string>?] | [string, string, string, string, Record<string, string>?]
  ): Connection {
    if (args[0] instanceof Event || args[1] instanceof Slot) {
      const [event, slot, mapping] = args as [unknown, unknown, Record<string, string> | undefined];
      if (!(event instanceof Event)) {
        throw new FlowDefinitionError(`connect on flow '${this.flowId}' expects an Event (from defineEvent) as its first argument, got ${showValue(event)}`);
      }
      if (!(slot instanceof Slot)) {
        throw new FlowDefinitionError(`connect on flow '${this.flowId}' expects a Slot (from defineSlot) as its second argument, got ${showValue(slot)}`);
      }
      return this.#connectByIds(this.#idOfHandle(event, "event"), event.name, this.#idOfHandle(slot, "slot"), slot.name, mapping);
    }
    const [sourceRoutineId, sourceEvent, targetRoutineId, targetSlot, paramMapping] =
      args as [string, string, string, string, Record<string, string>?];
    return this.#connectByIds(sourceRoutineId, sourceEvent, targetRoutineId, targetSlot, paramMapping);
  }

  /** The id of the routine that defines a handle; it must be in this flow. */
  #idOfHandle(handle: Event<unknown> | Slot<never>, kind: "event" | "slot"): string {
    const routine = handle.routine;
    const id = this.#ids.get(routine);
    if (id === undefined) {
      throw new FlowDefinitionError(
        `The ${kind} '${handle.name}' given to connect belongs to routine ${routine.constructor.name || "(anonymous)"} (${routine.id}), ` +
        `which is not in flow '${this.flowId}'; add that routine object first: flow.addRoutine(routine, id)`,
      );
    }
    return id;
  }

  #connectByIds(
    sourceRoutineId: string,
    sourceEvent: string,
    targetRoutineId: string,
    targetSlot: string,
    paramMapping: Record<string, string> | undefined,
  ): Connection {
    const source = this.requireRoutine(sourceRoutineId, "source");
    const target = this.requireRoutine(targetRoutineId, "target");
    if (source.getEvent(sourceEvent) === undefined) {
      throw new FlowDefinitionError(
        `Event '${sourceEvent}' not found on routine '${sourceRoutineId}'; its events are: ${listChoices(sourceEvent, source.events.keys())}`,
      );
    }
    if (target.getSlot(targetSlot) === undefined) {
      throw new FlowDefinitionError(
        `Slot '${targetSlot}' not found on routine '${targetRoutineId}'; its slots are: ${listChoices(targetSlot, target.slots.keys())}`,
      );
    }
    if (paramMapping !== undefined) {
      const wire = `${sourceRoutineId}.${sourceEvent}->${targetRoutineId}.${targetSlot}`;
      if (typeof paramMapping !== "object" || paramMapping === null || Array.isArray(paramMapping)) {
        throw new FlowDefinitionError(
          `Expected \`paramMapping\` of connection '${wire}' to be an object of strings, got ${showValue(paramMapping)} (${typeof paramMapping})`,
        );
      }
      for (const [from, to] of Object.entries(paramMapping)) {
        if (typeof to !== "string" || to.length === 0) {
          throw new FlowDefinitionError(`paramMapping['${from}'] of connection '${wire}' must be a non-empty string, got \`${String(to)}\``);
        }
      }
    }
    const connection = new Connection(sourceRoutineId, sourceEvent, targetRoutineId, targetSlot, paramMapping);
    let byEvent = this.#outgoing.get(sourceRoutineId);
    if (byEvent === undefined) {
      byEvent = new Map();
      this.#outgoing.set(sourceRoutineId, byEvent);
    }
    const list = byEvent.get(sourceEvent) ?? [];
    if (list.some((c) => c.id === connection.id)) {
      throw new FlowDefinitionError(`Event '${sourceRoutineId}.${sourceEvent}' is already connected to slot '${targetRoutineId}.${targetSlot}'`);
    }
    list.push(connection);
    byEvent.set(sourceEvent, list);
    this.#connections.push(connection);
    this.#byId.set(connection.id, connection);
    return connection;
  }

  /** The connection with this id (`source.event->target.slot`), if any. @internal */
  connectionById(id: string): Connection | undefined {
    return this.#byId.get(id);
  }

  /** The connections of one event, in the order they were made. @internal */
  outgoing(routineId: string, eventName: string): readonly Connection[] | undefined {
    return this.#outgoing.get(routineId)?.get(eventName);
  }

  /** Changes the strategy; `maxWorkers` defaults to 1 sequential, 5 concurrent. */
  setExecutionStrategy(strategy: ExecutionStrategy, maxWorkers?: number): void {
    const checked = checkStrategy(strategy);
    const workers = workersFor(checked, maxWorkers);
    this.#strategy = checked;
    this.#maxWorkers = workers;
    this.workersChanged(workers);
  }

  /**
   * Sets the flow-level error handler, used for every routine that has none of its own;
   * `undefined` removes it (a failure then stops the job).
   */
  setErrorHandler(handler: ErrorHandler | undefined): void {
    if (handler !== undefined && !(handler instanceof ErrorHandler)) {
      throw new FlowDefinitionError(`Expected \`errorHandler\` of flow '${this.flowId}' to be an ErrorHandler, got ${typeof handler}`);
    }
    this.#errorHandler = handler;
  }

  /** The routine with this id; throws a FlowDefinitionError listing the valid ids otherwise. @internal */
  requireRoutine(routineId: string, role: string): Routine {
    const routine = this.#routines.get(routineId);
    if (routine === undefined) {
      throw new FlowDefinitionError(
        `Unknown ${role} routine id '${routineId}' in flow '${this.flowId}'; its routines are: ${listChoices(routineId, this.#routines.keys())}`,
      );
    }
    return routine;
  }

  /** Called when the worker count changes. @internal */
  protected workersChanged(_maxWorkers: number): void {}
}
