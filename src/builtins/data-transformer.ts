import { RoutiluxError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, describe, isPlainObject } from "./config.js";

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(value: unknown, name: string, integer: boolean): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return integer ? Math.trunc(value) : value;
  if (typeof value === "string") {
    const text = value.trim();
    if (integer ? INTEGER.test(text) : NUMBER.test(text)) {
      const n = Number(text);
      if (Number.isFinite(n)) return n;
    }
    throw new RoutiluxError(`${name} cannot read ${describe(value)} as ${integer ? "an integer" : "a number"}`);
  }
  return value;
}

/** The transformations by their Python names; each leaves a value it does not apply to as it is. */
const TRANSFORMATIONS: Readonly<Record<string, (value: unknown) => unknown>> = {
  lowercase: (v) => (typeof v === "string" ? v.toLowerCase() : v),
  uppercase: (v) => (typeof v === "string" ? v.toUpperCase() : v),
  strip_whitespace: (v) => (typeof v === "string" ? v.trim() : v),
  strip: (v) => (typeof v === "string" ? v.trim() : v),
  to_string: (v) => (typeof v === "string" ? v : JSON.stringify(v) ?? ""),
  to_int: (v) => toNumber(v, "to_int", true),
  to_float: (v) => toNumber(v, "to_float", false),
  remove_none: (v) => (isPlainObject(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null && x !== undefined)) : v),
};

/** The names `transformations` may use. */
export const TRANSFORMATION_NAMES: readonly string[] = Object.keys(TRANSFORMATIONS);

const KEYS = ["transformations", "fields"] as const;

interface TransformerSettings {
  transformations: string[];
  fields: string[] | undefined;
}

function parse(config: Readonly<Record<string, unknown>>): TransformerSettings {
  const read = new ConfigReader("DataTransformer", config, KEYS);
  return {
    transformations: read.stringList("transformations", [], TRANSFORMATION_NAMES),
    fields: read.has("fields") ? read.stringList("fields", []) : undefined,
  };
}

/**
 * Applies named transformations in order, for cleaning and normalising data.
 *
 * - Slots: `input` (and `trigger`). The value is the message's `data` field when present, else
 *   the message.
 * - Event: `output { transformedData, transformationApplied, errors }`: `transformationApplied`
 *   lists the transformations that succeeded, `errors` the ones that failed (null when none did).
 * - Config: `transformations`: names, applied in order: `lowercase`, `uppercase`,
 *   `strip_whitespace` (alias `strip`), `to_string` (JSON text for non-strings), `to_int`
 *   (numbers truncated, integer strings read, booleans as 1 or 0), `to_float` (numeric strings
 *   read), `remove_none` (drops null fields of an object). An unknown name is refused when
 *   configured. `fields` (optional): apply the transformations to these fields of an object
 *   value instead of to the value itself (absent fields stay absent; a value that is not an
 *   object is passed on unchanged, with an error).
 *
 * A transformation leaves a value it does not apply to as it is (`lowercase` of a number). A
 * failing one (`to_int` of `"abc"`) is recorded in `errors` and the value goes on unchanged to
 * the next.
 *
 * @example
 * ```ts
 * const clean = new DataTransformer();
 * clean.setConfig({ transformations: ["strip", "lowercase"], fields: ["email"] });
 * // input { data: { email: "  Ada@Example.COM " } } -> output { transformedData: { email: "ada@example.com" }, ... }
 * ```
 */
export class DataTransformer extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.transform);
    this.defineSlot("trigger", this.transform);
    this.defineEvent("output", ["transformedData", "transformationApplied", "errors"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Transforms the message's value and emits `output`. */
  protected transform(message: Payload): void {
    const { transformations, fields } = this.#settings;
    const applied: string[] = [];
    const errors: string[] = [];
    const apply = (value: unknown, where: string): unknown => {
      let current = value;
      for (const name of transformations) {
        try {
          current = TRANSFORMATIONS[name]!(current);
          applied.push(where === "" ? name : `${name}(${where})`);
        } catch (error) {
          errors.push(`Error applying ${name}${where === "" ? "" : ` to '${where}'`}: ${(error as Error).message}`);
        }
      }
      return current;
    };
    const value = valueOf(message);
    let transformedData: unknown;
    if (fields !== undefined && !isPlainObject(value)) {
      transformedData = value;
      errors.push(`\`fields\` names fields of an object, and the value is ${describe(value)}; it is passed on unchanged`);
    } else if (fields !== undefined && isPlainObject(value)) {
      const entries = Object.entries(value).map(([key, v]): [string, unknown] => [key, fields.includes(key) ? apply(v, key) : v]);
      transformedData = Object.fromEntries(entries);
    } else {
      transformedData = apply(value, "");
    }
    this.emit("output", { transformedData, transformationApplied: applied, errors: errors.length === 0 ? null : errors });
  }
}
