/**
 * Reading a built-in routine's configuration: every value is checked when the routine is
 * configured, and a wrong one throws a FlowDefinitionError that names the routine class, the key,
 * what was expected and what was given.
 */
import { FlowDefinitionError, listChoices, showValue } from "../core/errors.js";
import { findNonJson, formatPath } from "../core/json-value.js";

/** A configuration being read: its values, and what the routine class calls itself in messages. */
export class ConfigReader {
  readonly #owner: string;
  readonly #values: Readonly<Record<string, unknown>>;

  /**
   * @param owner - the routine class, as messages name it (`TextClipper`)
   * @param values - the whole configuration (the merged result of every `setConfig` call)
   * @param keys - the keys the routine knows; others are refused with a suggestion, unless `open`
   * @param open - other keys are allowed (routines whose expressions read `config`)
   */
  constructor(owner: string, values: Readonly<Record<string, unknown>>, keys: readonly string[], open = false) {
    this.#owner = owner;
    this.#values = values;
    const nonJson = findNonJson(values, true);
    if (nonJson !== undefined) {
      throw new FlowDefinitionError(
        `The config of ${owner} must be plain JSON (flow files hold it); at '${formatPath(nonJson.path)}' it has ${nonJson.what}`,
      );
    }
    if (!open) {
      for (const key of Object.keys(values)) {
        if (!keys.includes(key)) {
          throw new FlowDefinitionError(`Unknown config key '${key}' for ${owner}; its keys are: ${listChoices(key, keys)}`);
        }
      }
    }
  }

  /** The routine class, as messages name it. */
  get owner(): string {
    return this.#owner;
  }

  /** Whether `key` is set (to anything but undefined). */
  has(key: string): boolean {
    return Object.hasOwn(this.#values, key) && this.#values[key] !== undefined;
  }

  /** The raw value of `key`. */
  raw(key: string): unknown {
    return Object.hasOwn(this.#values, key) ? this.#values[key] : undefined;
  }

  /** A FlowDefinitionError about `key` (a dotted path inside the config, such as `routes[0].event`). */
  error(key: string, expected: string, value: unknown): FlowDefinitionError {
    return new FlowDefinitionError(`Expected \`${key}\` of ${this.#owner} to be ${expected}, got ${describe(value)}`);
  }

  /** A number (from `min` up, an integer when `integer`), or `fallback` when unset. */
  number(key: string, fallback: number, options: { min?: number; above?: number; integer?: boolean; max?: number } = {}): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const { min, above, integer = false, max } = options;
    const kind = integer ? "an integer" : "a number";
    const top = max?.toLocaleString("en-US");
    const range = min !== undefined ? (top === undefined ? ` from ${min} and up` : ` from ${min} to ${top}`)
      : above !== undefined ? ` above ${above}${top === undefined ? "" : ` up to ${top}`}` : top === undefined ? "" : ` up to ${top}`;
    if (typeof value !== "number" || !Number.isFinite(value) || (integer && !Number.isInteger(value)) ||
        (min !== undefined && value < min) || (above !== undefined && value <= above) || (max !== undefined && value > max)) {
      throw this.error(key, `${kind}${range}`, value);
    }
    return value;
  }

  /** An optional number of milliseconds (see {@link ConfigReader.number}); undefined when unset. */
  optionalNumber(key: string, options: { min?: number; above?: number; integer?: boolean; max?: number } = {}): number | undefined {
    return this.raw(key) === undefined || this.raw(key) === null ? undefined : this.number(key, 0, options);
  }

  /** A boolean, or `fallback` when unset. */
  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") throw this.error(key, "true or false", value);
    return value;
  }

  /** A string (non-empty unless `allowEmpty`), or `fallback` when unset. */
  string(key: string, fallback: string, options: { allowEmpty?: boolean } = {}): string {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== "string" || (value === "" && options.allowEmpty !== true)) {
      throw this.error(key, options.allowEmpty === true ? "a string" : "a non-empty string", value);
    }
    return value;
  }

  /** An optional non-empty string; undefined when unset or null. */
  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    return value === undefined || value === null ? undefined : this.string(key, "");
  }

  /** One of `choices`, or `fallback` when unset. */
  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
      const list = choices.join(", ");
      const hint = typeof value === "string" ? listChoices(value, choices).slice(list.length + 1) : "";
      throw new FlowDefinitionError(`Expected \`${key}\` of ${this.#owner} to be one of: ${list}; got ${describe(value)}.${hint}`);
    }
    return value as T;
  }

  /** A list of non-empty strings, or `fallback` when unset; with `choices`, each must be one of them. */
  stringList(key: string, fallback: readonly string[], choices?: readonly string[]): string[] {
    const value = this.raw(key);
    if (value === undefined) return [...fallback];
    if (!Array.isArray(value)) throw this.error(key, "a list of strings", value);
    return value.map((item, i) => {
      if (typeof item !== "string" || item === "") throw this.error(`${key}[${i}]`, "a non-empty string", item);
      if (choices !== undefined && !choices.includes(item)) {
        throw new FlowDefinitionError(`Unknown ${key}[${i}] '${item}' for ${this.#owner}; the known ones are: ${listChoices(item, choices)}`);
      }
      return item;
    });
  }

  /** A plain object (JSON), or undefined when unset or null. */
  optionalObject(key: string): Record<string, unknown> | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null) return undefined;
    if (!isPlainObject(value)) throw this.error(key, "an object", value);
    return value;
  }
}

/** A value as a message shows it: quoted, with its JSON type. */
export function describe(value: unknown): string {
  const shown = showValue(value);
  const short = shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
  return `\`${short}\` (${jsonType(value)})`;
}

/** The JSON type of a value: object, array, string, number, boolean or null. */
export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** A plain JSON object: not null, not a list. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Property names that an object built from user-chosen keys must not take. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
