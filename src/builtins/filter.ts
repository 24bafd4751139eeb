import type { Payload } from "../core/slot.js";
import { compileCondition, type Condition } from "../serialization/expression/index.js";
import { BuiltinRoutine } from "./builtin-routine.js";
import { ConfigReader } from "./config.js";

const KEYS = ["condition"] as const;

function parse(config: Readonly<Record<string, unknown>>): Condition | undefined {
  const read = new ConfigReader("Filter", config, KEYS, true);
  const source = read.raw("condition");
  if (source === undefined) return undefined;
  if (typeof source !== "string") throw read.error("condition", "an expression string", source);
  return compileCondition(source, { where: "Filter config condition" });
}

/**
 * Passes on the messages that meet a condition, and routes the others apart.
 *
 * - Slots: `input` (and `trigger`).
 * - Events: `passed` and `rejected`, each with the message as it arrived.
 * - Config: `condition`: an expression in the safe expression language over `data` (the message
 *   as it arrives) and `config` (the routine's config; other keys are allowed, for the condition
 *   to read). A condition that fails on a message (a missing field) counts as false. Without a
 *   condition every message passes.
 *
 * A bad condition is refused when configured, naming the expression and the position.
 *
 * @example
 * ```ts
 * const adults = new Filter();
 * adults.setConfig({ condition: "data.age >= config.minAge", minAge: 18 });
 * flow.connect("people", "person", "adults", "input");
 * flow.connect("adults", "passed", "greet", "input");
 * ```
 */
export class Filter extends BuiltinRoutine {
  #condition: Condition | undefined;

  constructor() {
    super();
    this.defineSlot("input", this.filter);
    this.defineSlot("trigger", this.filter);
    this.defineEvent("passed");
    this.defineEvent("rejected");
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#condition = parse(config);
  }

  /** Emits the message on `passed` or `rejected`. */
  protected filter(message: Payload): void {
    const condition = this.#condition;
    const passed = condition === undefined || condition.test({ data: message, config: this.config });
    this.emit(passed ? "passed" : "rejected", message);
  }
}
