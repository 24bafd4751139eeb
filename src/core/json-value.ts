import { SerializationError } from "./errors.js";

/** Formats a path as `a.b[2].c`. @internal */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Where a value stops being JSON, and what is there. @internal */
export interface NonJson {
  path: PropertyKey[];
  what: string;
}

/**
 * The first value that JSON cannot hold as it is, depth first: a cycle, a function, a symbol, a
 * BigInt, a non-finite number, `undefined` in an array, a class instance without `toJSON`.
 * `undefined` object members are allowed (JSON drops them). Undefined when there is none.
 * @param strict - also refuse instances that have `toJSON` (a `Date`): for documents being read,
 *   which must be exactly what `JSON.parse` gives
 * @internal
 */
export function findNonJson(value: unknown, strict = false): NonJson | undefined {
  const seen = new Set<object>();
  const walk = (v: unknown, path: PropertyKey[]): NonJson | undefined => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return undefined;
      case "number":
        return Number.isFinite(v) ? undefined : { path, what: `the number ${String(v)}, which JSON cannot hold` };
      case "undefined":
        return path.length > 0 && typeof path[path.length - 1] === "number" ? { path, what: "undefined in an array" } : undefined;
      case "bigint":
        return { path, what: `the BigInt ${String(v)}n; convert it to a string or number first` };
      case "function":
        return { path, what: "a function" };
      case "symbol":
        return { path, what: "a symbol" };
      case "object": {
        if (v === null) return undefined;
        if (seen.has(v)) return { path, what: "a cycle: this object contains itself" };
        let found: NonJson | undefined;
        if (Array.isArray(v)) {
          seen.add(v);
          for (let i = 0; i < v.length && found === undefined; i++) found = walk(v[i], [...path, i]);
          seen.delete(v);
          return found;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          if (!strict && typeof (v as { toJSON?: unknown }).toJSON === "function") return undefined;
          return { path, what: `an instance of ${(v).constructor?.name ?? "a class"}, which JSON does not round-trip; use a plain object` };
        }
        seen.add(v);
        for (const key of Object.keys(v)) {
          found = walk((v as Record<string, unknown>)[key], [...path, key]);
          if (found !== undefined) break;
        }
        seen.delete(v);
        return found;
      }
    }
    return undefined;
  };
  try {
    return walk(value, []);
  } catch (error) {
    // Nesting deep enough to exhaust the stack here would exhaust it in JSON.stringify too.
    if (error instanceof RangeError) {
      return { path: [], what: "nested too deeply to check (the call stack ran out); keep JSON values to a few thousand levels" };
    }
    throw error;
  }
}

/**
 * Throws a {@link SerializationError} naming the path of the first value that JSON cannot hold
 * as it is (see {@link findNonJson}).
 * @internal
 */
export function assertJsonSafe(value: unknown, where: string): void {
  const found = findNonJson(value);
  if (found === undefined) return;
  const at = formatPath(found.path);
  throw new SerializationError(`Cannot serialize ${where}: ${at === "" ? "the value" : `'${at}'`} is ${found.what}`, { path: at });
}

/** Nesting past this depth is checked by the slow walk, which tells a cycle from deep data. */
const FAST_DEPTH = 64;

function isPlain(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(v);
    case "object": {
      if (v === null) return true;
      if (depth > FAST_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          if (item === undefined || !isPlain(item, depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (item !== undefined && !isPlain(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Whether `value` is plain JSON as {@link checkJsonValue} requires, without naming it: hot paths
 * ask this first and build the message of `checkJsonValue` only for a value that fails.
 * @internal
 */
export function isJsonValue(value: unknown): boolean {
  return value === undefined || isPlain(value, 0);
}

/**
 * Checks a value handed to a job (a payload, a shared-data value, a routine state) where it is
 * written: it must be plain JSON that comes back the same after `JSON.stringify` and `JSON.parse`.
 * A `Date`, a class instance, a BigInt, a function, a non-finite number, `undefined` in an array
 * or a cycle is refused with a {@link SerializationError} naming `where` and the path. `undefined`
 * object members are allowed: they read the same after the round trip. Allocation-free when the
 * value is fine.
 * @param where - names the value in the message, such as "the data of emit('done') of routine 'a'"
 * @param root - the name of the value's root in the path, such as "data"
 * @internal
 */
export function checkJsonValue(value: unknown, where: string, root: string): void {
  if (value === undefined || isPlain(value, 0)) return;
  const found = findNonJson(value, true);
  if (found === undefined) return;
  const path = formatPath([root, ...found.path]);
  throw new SerializationError(
    `Cannot write ${where}: '${path}' is ${found.what}. A job holds only plain JSON (it is stored and resumed elsewhere)` +
    (found.what.startsWith("an instance of Date") ? "; pass the date as an ISO string (date.toISOString())" : ""),
    { path },
  );
}

/**
 * Sets `target[key]` as an own property, even for the key `__proto__` (a routine id or a shared-data
 * key may be any string; plain assignment would set the prototype instead).
 * @internal
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
