import { SerializationError } from "../core/errors.js";

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
  return walk(value, []);
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
