import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, jsonType } from "./config.js";

const KEYS = ["separator", "preserveLists", "maxDepth"] as const;

interface FlattenerSettings {
  separator: string;
  preserveLists: boolean;
  maxDepth: number;
}

function parse(config: Readonly<Record<string, unknown>>): FlattenerSettings {
  const read = new ConfigReader("DataFlattener", config, KEYS);
  return {
    separator: read.string("separator", ".", { allowEmpty: true }),
    preserveLists: read.boolean("preserveLists", true),
    maxDepth: read.number("maxDepth", 100, { min: 1, integer: true, max: 1000 }),
  };
}

/**
 * Flattens nested objects and lists into one object with dotted keys:
 * `{ a: { b: 1, c: [2, 3] } }` gives `{ "a.b": 1, "a.c.0": 2, "a.c.1": 3 }`.
 *
 * - Slots: `input` (and `trigger`). The value is the message's `data` field when present, else
 *   the message.
 * - Event: `output { flattenedData, originalType, depth }` (`originalType`: the value's JSON type;
 *   `depth`: how deep the deepest value was).
 * - Config: `separator` (default `"."`), `preserveLists` (default true: list items get their
 *   index in the key; false: items share their list's key and the last one wins), `maxDepth`
 *   (default 100: a value nested deeper is kept whole under its key).
 *
 * A scalar value is flattened to `{ value: <it> }`; an empty object or list is kept as it is
 * under its key (`{ a: {} }` gives `{ a: {} }`) rather than lost. When two paths give the same
 * key (`{ "a.b": 1, a: { b: 2 } }`), the later one wins.
 *
 * @example
 * ```ts
 * const flatten = new DataFlattener();
 * flatten.setConfig({ separator: "_" });
 * ```
 */
export class DataFlattener extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.flatten);
    this.defineSlot("trigger", this.flatten);
    this.defineEvent("output", ["flattenedData", "originalType", "depth"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Flattens the message's value and emits `output`. */
  protected flatten(message: Payload): void {
    const value = valueOf(message);
    const { entries, depth } = flattenValue(value, this.#settings);
    // fromEntries defines own properties, so a key such as "__proto__" stays data.
    this.emit("output", { flattenedData: Object.fromEntries(entries), originalType: jsonType(value), depth });
  }
}

/** The flattened entries of `value`, and its depth. @internal */
export function flattenValue(value: unknown, settings: FlattenerSettings): { entries: Array<[string, unknown]>; depth: number } {
  const { separator, preserveLists, maxDepth } = settings;
  const entries: Array<[string, unknown]> = [];
  let deepest = 0;
  const join = (prefix: string, key: string): string => (prefix === "" ? key : `${prefix}${separator}${key}`);
  const walk = (v: unknown, prefix: string, depth: number): void => {
    deepest = Math.max(deepest, depth);
    const container = typeof v === "object" && v !== null;
    if (!container || depth >= maxDepth || Object.keys(v).length === 0) {
      // An empty object or list at the top has no key to be kept under: it flattens to {}.
      if (container && prefix === "" && depth === 0 && Object.keys(v).length === 0) return;
      entries.push([prefix === "" ? "value" : prefix, v]);
      return;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], preserveLists ? join(prefix, String(i)) : prefix === "" ? "value" : prefix, depth + 1);
    } else {
      for (const [key, item] of Object.entries(v)) walk(item, join(prefix, key), depth + 1);
    }
  };
  walk(value, "", 0);
  return { entries, depth: deepest };
}
