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

/**
 * Throws a {@link SerializationError} naming the path of the first value that JSON cannot hold
 * as it is: a cycle, a function, a symbol, a BigInt, a non-finite number, a class instance
 * without `toJSON`. `undefined` object members are allowed (JSON drops them).
 * @internal
 */
export function assertJsonSafe(value: unknown, where: string): void {
  const seen = new Set<object>();
  const walk = (v: unknown, path: PropertyKey[]): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) fail(path, `the number ${String(v)}, which JSON cannot hold`);
        return;
      case "undefined":
        if (path.length > 0 && typeof path[path.length - 1] === "number") fail(path, "undefined in an array");
        return;
      case "bigint":
        fail(path, `the BigInt ${String(v)}n; convert it to a string or number first`);
        return;
      case "function":
        fail(path, "a function");
        return;
      case "symbol":
        fail(path, "a symbol");
        return;
      case "object": {
        if (v === null) return;
        if (seen.has(v)) fail(path, "a cycle: this object contains itself");
        if (Array.isArray(v)) {
          seen.add(v);
          for (let i = 0; i < v.length; i++) walk(v[i], [...path, i]);
          seen.delete(v);
          return;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          if (typeof (v as { toJSON?: unknown }).toJSON === "function") return;
          fail(path, `an instance of ${(v).constructor?.name ?? "a class"}, which JSON does not round-trip; use a plain object`);
        }
        seen.add(v);
        for (const key of Object.keys(v)) walk((v as Record<string, unknown>)[key], [...path, key]);
        seen.delete(v);
      }
    }
  };
  const fail = (path: PropertyKey[], what: string): never => {
    const at = formatPath(path);
    throw new SerializationError(`Cannot serialize ${where}: ${at === "" ? "the value" : `'${at}'`} is ${what}`, {
      path: at,
    });
  };
  walk(value, []);
}
