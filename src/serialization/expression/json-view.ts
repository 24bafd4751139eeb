/**
 * What an expression sees of its inputs, and what its caller gets back.
 *
 * Inputs are handed to the CEL library as read-only views (proxies) of the caller's objects.
 * A view reads own data properties only, never runs a getter, refuses anything that is not JSON
 * (class instances, functions, proxies, symbols, BigInt) and charges every read to the active
 * meter. Results are copied out as plain JSON: CEL integers (BigInt) become numbers.
 */
import { types } from "node:util";
import { UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import { formatPath } from "../../core/json-value.js";
import { charge, failActive } from "./meter.js";

/** A plain JSON value, as an expression gives it back. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A result that is not JSON, or a value beyond what JSON holds exactly. @internal */
export class ResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResultError";
  }
}

/** The caller's object behind each view, and the path it was read from. */
const sources = new WeakMap<object, { source: object; path: readonly PropertyKey[] }>();

/** Results nested deeper than this are refused rather than copied (a cycle ends here too). */
const MAX_RESULT_DEPTH = 512;

/** What a non-JSON value is, without running any of its code (no getters, no `toString`). */
function describe(value: unknown): string {
  switch (typeof value) {
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "bigint":
      return "a BigInt";
    case "object": {
      if (value === null) return "null";
      if (types.isProxy(value)) return "a proxy";
      const proto: unknown = Object.getPrototypeOf(value);
      if (typeof proto !== "object" || proto === null) return "an object";
      const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value as unknown;
      const name: unknown = typeof ctor === "function" ? Object.getOwnPropertyDescriptor(ctor, "name")?.value : undefined;
      return typeof name === "string" && name !== "" ? `an instance of ${name}` : "an instance of a class";
    }
    default:
      return typeof value;
  }
}

/** Plain objects and arrays, whose own data properties a view may read. */
function isPlain(value: object): boolean {
  if (types.isProxy(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value) ? proto === Array.prototype : proto === Object.prototype || proto === null;
}

/** The path of `key` under `path`; array indices as numbers, so that paths read `items[2]`. */
function childPath(path: readonly PropertyKey[], key: string, isArray: boolean): PropertyKey[] {
  return [...path, isArray && /^\d+$/.test(key) ? Number(key) : key];
}

/** Charges the read of `parent[key]` and returns what the expression may see of its value. */
function seen(value: unknown, path: readonly PropertyKey[], key: string, isArray: boolean): unknown {
  switch (typeof value) {
    case "string":
      charge(1 + (value.length >>> 4));
      return value;
    case "number":
    case "boolean":
    case "undefined":
      charge(1);
      return value;
    case "object":
      charge(1);
      if (value === null) return null;
      if (isPlain(value)) return view(value, childPath(path, key, isArray));
      break;
    default:
      break;
  }
  throw failActive(`${formatPath(childPath(path, key, isArray))} is ${describe(value)}, not a JSON value`);
}

/** An own data property of `source`; an accessor stops the evaluation without being called. */
function ownData(source: object, key: string | symbol, path: readonly PropertyKey[]): PropertyDescriptor | undefined {
  if (typeof key !== "string") return undefined;
  const descriptor = Reflect.getOwnPropertyDescriptor(source, key);
  if (descriptor === undefined || "value" in descriptor) return descriptor;
  throw failActive(`${formatPath([...path, key])} is a getter or setter, not a JSON value`);
}

const refuseWrite = (): boolean => false;

/**
 * A read-only view of a plain object or array. The proxy's target is an empty stand-in, not the
 * caller's object, so the proxy invariants hold even for frozen inputs.
 */
function view(source: object, path: readonly PropertyKey[]): object {
  const isArray = Array.isArray(source);
  const stand: object = isArray ? [] : {};
  const proxy = new Proxy(stand, {
    get(target, key) {
      // The library tells maps from lists by `constructor`; a data key of that name is refused
      // when the expression is compiled, so answering for the type here hides nothing.
      if (key === "constructor") return isArray ? Array : Object;
      const own = ownData(source, key, path);
      if (own === undefined) return Reflect.get(target, key) as unknown;
      return isArray && key === "length" ? own.value as unknown : seen(own.value, path, key as string, isArray);
    },
    has(target, key) {
      charge(1);
      return (typeof key === "string" && Object.hasOwn(source, key)) || Reflect.has(target, key);
    },
    ownKeys() {
      const keys = Reflect.ownKeys(source).filter((key) => typeof key === "string");
      charge(keys.length + 1);
      return keys;
    },
    getOwnPropertyDescriptor(target, key) {
      if (isArray && key === "length") {
        return { value: (source as unknown[]).length, writable: true, enumerable: false, configurable: false };
      }
      const own = ownData(source, key, path);
      if (own === undefined) return undefined;
      const value = seen(own.value, path, key as string, isArray);
      return { value, writable: true, enumerable: own.enumerable ?? false, configurable: true };
    },
    set: refuseWrite,
    defineProperty: refuseWrite,
    deleteProperty: refuseWrite,
    setPrototypeOf: refuseWrite,
  });
  sources.set(proxy, { source, path });
  return proxy;
}

/** Whether `value` is a view of an input, whose reads are charged as they happen. @internal */
export function isView(value: unknown): boolean {
  return typeof value === "object" && value !== null && sources.has(value);
}

/**
 * The view of one top-level input (`data`, `config`, …) as an expression sees it. Reads through
 * the view are charged to the meter active at the time.
 * @internal
 */
export function inputView(name: string, value: unknown): unknown {
  if (typeof value === "object" && value !== null && isPlain(value)) return view(value, [name]);
  if (value === undefined || value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  throw failActive(`${name} is ${describe(value)}, not a JSON value`);
}

function where(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "" : `at ${formatPath(path)} `;
}

function toNumber(value: bigint, path: readonly PropertyKey[]): number {
  if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  throw new ResultError(`${where(path)}the integer ${value} is beyond what a JSON number holds exactly (±${Number.MAX_SAFE_INTEGER})`);
}

function notJson(value: unknown, path: readonly PropertyKey[]): ResultError {
  return new ResultError(`${where(path)}the result holds ${describe(value)}, not a JSON value`);
}

/**
 * Copies one value. `input` is true inside a value that came from the caller (behind a view):
 * there only plain JSON passes, read through own data properties; values the library made may
 * also be BigInt, unsigned integers, timestamps and maps.
 */
function copy(value: unknown, path: readonly PropertyKey[], depth: number, input: boolean): JsonValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isFinite(value)) return value;
      throw new ResultError(`${where(path)}the number ${value} is not a JSON value`);
    case "bigint":
      if (input) throw notJson(value, path);
      return toNumber(value, path);
    case "object":
      break;
    default:
      throw notJson(value, path);
  }
  if (value === null) return null;
  if (depth > MAX_RESULT_DEPTH) throw new ResultError(`${where(path)}the result is nested deeper than ${MAX_RESULT_DEPTH} levels`);
  const behind = sources.get(value);
  if (behind !== undefined) return copy(behind.source, behind.path, depth, true);
  if (!isPlain(value)) {
    if (input) throw notJson(value, path);
    if (value instanceof UnsignedInt) return toNumber(value.valueOf(), path);
    if (value instanceof Date) return value.toISOString();
    if (!(value instanceof Map)) throw notJson(value, path);
  }
  if (Array.isArray(value)) {
    const out: JsonValue[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = ownData(value, String(i), path)?.value;
      out.push(item === undefined ? null : copy(item, [...path, i], depth + 1, input));
    }
    return out;
  }
  const out: Record<string, JsonValue> = {};
  const entries: Iterable<[unknown, unknown]> = value instanceof Map
    ? value.entries()
    : Object.keys(value).map((key) => [key, ownData(value, key, path)?.value]);
  for (const [key, item] of entries) {
    if (typeof key !== "string") throw new ResultError(`${where(path)}a map has the key ${describe(key)}; JSON object keys are strings`);
    if (item === undefined) continue;
    // defineProperty, so that a key named `__proto__` stays a plain key.
    const copied = copy(item, [...path, key], depth + 1, input);
    Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Copies an evaluation's result out as plain JSON: integers become numbers (refused beyond
 * ±2^53 - 1), timestamps become ISO 8601 strings, views become copies of what they show. Bytes,
 * durations, types and non-finite numbers are refused with a {@link ResultError}.
 * @internal
 */
export function toJson(value: unknown): JsonValue {
  return copy(value, [], 0, false);
}
