import { FlowDefinitionError, JobStateError, RoutiluxError, SerializationError, StoreError } from "../core/errors.js";
import { Routine } from "../core/routine.js";

/** A routine class that can be rebuilt from a document: constructed without arguments. */
export type RoutineConstructor = new () => Routine;

/** An error class that an error handler's `retryable` list may name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = new (...args: any[]) => Error;

function checkName(kind: string, name: unknown): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new RoutiluxError(`Expected the ${kind} name to be a non-empty string, got \`${String(name)}\` (${typeof name})`);
  }
  return name;
}

/** JavaScript's own error classes and routilux's: every registry knows them. */
const STANDARD_ERRORS: ReadonlyArray<readonly [string, ErrorClass]> = [
  ["Error", Error], ["TypeError", TypeError], ["RangeError", RangeError], ["SyntaxError", SyntaxError],
  ["ReferenceError", ReferenceError], ["EvalError", EvalError], ["URIError", URIError], ["AggregateError", AggregateError],
  ["RoutiluxError", RoutiluxError], ["FlowDefinitionError", FlowDefinitionError], ["SerializationError", SerializationError],
  ["JobStateError", JobStateError], ["StoreError", StoreError],
];

function className(ctor: unknown): string {
  const name = (ctor as { name?: unknown }).name;
  return typeof name === "string" && name !== "" ? name : "(anonymous)";
}

/**
 * Registers `ctor` under `name` in `byName`, and `name` as its name in `names` unless it has one.
 * The same class under the same name again does nothing; a name taken by another class throws.
 */
function add<C>(byName: Map<string, C>, names: Map<C, string>, kind: "Routine" | "Error", name: string, ctor: C): void {
  const existing = byName.get(name);
  if (existing === ctor) return;
  if (existing !== undefined) {
    throw new RoutiluxError(`${kind} name '${name}' is already registered to class ${className(existing)}; register ${className(ctor)} under another name`);
  }
  byName.set(name, ctor);
  if (!names.has(ctor)) names.set(ctor, name);
}

/**
 * Maps names to routine classes (and error classes), so that `Flow.deserialize` can rebuild a
 * flow written by `flow.serialize()` in this or another process. A flow document names each
 * routine by its registered name, else by its class name.
 *
 * @example
 * ```ts
 * const registry = new RoutineRegistry();
 * registry.register("Fetch", Fetch);
 * const flow = Flow.deserialize(JSON.parse(text), registry);
 * ```
 */
export class RoutineRegistry {
  readonly #routines = new Map<string, RoutineConstructor>();
  readonly #routineNames = new Map<RoutineConstructor, string>();
  readonly #errors = new Map<string, ErrorClass>();
  readonly #errorNames = new Map<ErrorClass, string>();

  /** An empty registry of routines; it knows the standard error classes (`Error`, `TypeError`, ..., `RoutiluxError`, ...). */
  constructor() {
    for (const [name, ctor] of STANDARD_ERRORS) this.registerError(name, ctor);
  }

  /**
   * Registers a routine class under `name`. Registering the same class under the same name again
   * does nothing; a name already taken by another class throws.
   * @param name - the name flow documents use for this class
   * @param ctor - a subclass of `Routine` whose constructor takes no arguments
   */
  register(name: string, ctor: RoutineConstructor): void {
    checkName("routine", name);
    if (typeof ctor !== "function" || !(ctor === Routine || ctor.prototype instanceof Routine)) {
      throw new RoutiluxError(
        `Expected a Routine subclass to register as '${name}', got ${typeof ctor === "function" ? `class ${className(ctor)}, which does not extend Routine` : typeof ctor}`,
      );
    }
    add(this.#routines, this.#routineNames, "Routine", name, ctor);
  }

  /** The routine class registered under `name`, if any. */
  get(name: string): RoutineConstructor | undefined {
    return this.#routines.get(name);
  }

  /** Whether a routine class is registered under `name`. */
  has(name: string): boolean {
    return this.#routines.has(name);
  }

  /** The registered routine names, in registration order. */
  names(): string[] {
    return [...this.#routines.keys()];
  }

  /** The name a routine class was first registered under, if it was. */
  nameOf(ctor: abstract new (...args: never[]) => Routine): string | undefined {
    return this.#routineNames.get(ctor as RoutineConstructor);
  }

  /**
   * Registers an error class, so that a `retryable` list naming it survives a flow document.
   * Same rules as {@link RoutineRegistry.register}.
   */
  registerError(name: string, ctor: ErrorClass): void {
    checkName("error", name);
    if (typeof ctor !== "function" || !(ctor === Error || ctor.prototype instanceof Error)) {
      throw new RoutiluxError(`Expected an Error class to register as '${name}', got ${typeof ctor === "function" ? `class ${className(ctor)}` : typeof ctor}`);
    }
    add(this.#errors, this.#errorNames, "Error", name, ctor);
  }

  /** The error class registered under `name`, if any. */
  getError(name: string): ErrorClass | undefined {
    return this.#errors.get(name);
  }

  /** The name an error class was first registered under, if it was. */
  errorNameOf(ctor: ErrorClass): string | undefined {
    return this.#errorNames.get(ctor);
  }
}

/**
 * The registry `Flow.deserialize` and `flow.serialize` use when none is given. It holds the
 * built-in routines (registered under their class names when the package is loaded) and the
 * standard error classes; register your own routine classes here, or pass a registry of your own.
 */
export const defaultRegistry: RoutineRegistry = new RoutineRegistry();
