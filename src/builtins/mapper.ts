import { FlowDefinitionError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { compileExpression, type Expression } from "../serialization/expression/index.js";
import { BuiltinRoutine } from "./builtin-routine.js";
import { ConfigReader, UNSAFE_KEYS } from "./config.js";

const KEYS = ["mapping"] as const;

function parse(config: Readonly<Record<string, unknown>>): Array<[string, Expression]> {
  const read = new ConfigReader("Mapper", config, KEYS, true);
  const mapping = read.optionalObject("mapping") ?? {};
  return Object.entries(mapping).map(([field, source]): [string, Expression] => {
    if (field === "" || UNSAFE_KEYS.has(field)) {
      throw new FlowDefinitionError(`Mapper config mapping has the output field ${JSON.stringify(field)}, which is not allowed; name fields with ordinary words`);
    }
    if (typeof source !== "string") throw read.error(`mapping.${field}`, "an expression string", source);
    return [field, compileExpression(source, { where: `Mapper config mapping.${field}` })];
  });
}

/**
 * Builds a new message from expressions over the incoming one.
 *
 * - Slots: `input` (and `trigger`).
 * - Event: `output`, with one field per entry of `mapping`.
 * - Config: `mapping`: output field name to an expression in the safe expression language over
 *   `data` (the message as it arrives) and `config` (the routine's config; other keys are
 *   allowed, for expressions to read).
 *
 * Every expression is compiled when configured (a bad one is refused with its position). An
 * expression that fails on a message (a missing field) fails the activation with an error naming
 * it, and the routine's error handler decides what happens; guard optional fields with
 * `has(data.x) ? data.x : null`.
 *
 * @example
 * ```ts
 * const bill = new Mapper();
 * bill.setConfig({ mapping: { total: "data.price * data.quantity", label: "data.name + ' x' + string(data.quantity)" } });
 * // input { price: 2.5, quantity: 4, name: "tea" } -> output { total: 10, label: "tea x4" }
 * ```
 */
export class Mapper extends BuiltinRoutine {
  #mapping: Array<[string, Expression]> = [];

  constructor() {
    super();
    this.defineSlot("input", this.map);
    this.defineSlot("trigger", this.map);
    this.defineEvent("output");
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#mapping = parse(config);
  }

  /** Emits the mapped fields. */
  protected map(message: Payload): void {
    const scope = { data: message, config: this.config };
    // fromEntries defines own properties: no output field can reach a prototype.
    this.emit("output", Object.fromEntries(this.#mapping.map(([field, expression]) => [field, expression.evaluate(scope)])));
  }
}
