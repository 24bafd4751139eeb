import { RoutiluxError } from "../core/errors.js";
import type { HandlerContext } from "../core/context.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine } from "./builtin-routine.js";
import { ConfigReader, describe, isPlainObject } from "./config.js";

const KEYS = ["field"] as const;

function parse(config: Readonly<Record<string, unknown>>): string[] {
  const read = new ConfigReader("Splitter", config, KEYS);
  const field = read.string("field", "items");
  const path = field.split(".");
  if (path.some((part) => part === "")) throw read.error("field", "a field name or a dotted path such as \"payload.rows\"", field);
  return path;
}

/**
 * Splits a list into one message per item, for fan-out.
 *
 * - Slots: `input` (and `trigger`).
 * - Event: `item { item, index, count }`, once per item, in order.
 * - Config: `field`: where the list is in the message, a field name or a dotted path (default
 *   `"items"`: `{ items: [...] }`).
 *
 * An empty list emits nothing. A message without a list there fails the activation with an
 * error naming the field.
 *
 * @example
 * ```ts
 * const each = new Splitter();
 * each.setConfig({ field: "order.lines" });
 * // input { order: { lines: ["a", "b"] } } -> item { item: "a", index: 0, count: 2 }, item { item: "b", index: 1, count: 2 }
 * ```
 */
export class Splitter extends BuiltinRoutine {
  #path: string[] = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.split);
    this.defineSlot("trigger", this.split);
    this.defineEvent("item", ["item", "index", "count"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#path = parse(config);
  }

  /** Emits one `item` per element of the list. */
  protected split(message: Payload, ctx: HandlerContext): void {
    let list: unknown = message;
    for (const part of this.#path) list = isPlainObject(list) && Object.hasOwn(list, part) ? list[part] : undefined;
    if (!Array.isArray(list)) {
      throw new RoutiluxError(`Splitter '${ctx.routineId}' expects a list at '${this.#path.join(".")}' of its message, got ${describe(list ?? null)}`);
    }
    const count = list.length;
    for (let index = 0; index < count; index++) this.emit("item", { item: list[index] as unknown, index, count });
  }
}
