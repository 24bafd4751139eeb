import { FlowDefinitionError, listChoices } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { compileCondition, type Condition } from "../serialization/expression/index.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, describe, isPlainObject } from "./config.js";

const isNumber = (v: unknown): v is number => typeof v === "number";

/** The validators by their Python names. */
const VALIDATORS: Readonly<Record<string, (value: unknown) => boolean>> = {
  not_empty: (v) => v !== null && v !== undefined && v !== "" &&
    !(Array.isArray(v) && v.length === 0) && !(isPlainObject(v) && Object.keys(v).length === 0),
  is_string: (v) => typeof v === "string",
  is_int: (v) => isNumber(v) && Number.isInteger(v),
  is_float: (v) => isNumber(v) && !Number.isInteger(v),
  is_number: isNumber,
  is_dict: isPlainObject,
  is_list: (v) => Array.isArray(v),
  is_positive: (v) => isNumber(v) && v > 0,
  is_non_negative: (v) => isNumber(v) && v >= 0,
};

/** The names a rule may use. */
export const VALIDATOR_NAMES: readonly string[] = Object.keys(VALIDATORS);

const KEYS = ["rules", "requiredFields", "strictMode", "allowExtraFields"] as const;

/** One compiled rule: validator names, or a condition. */
type Rule = { names: string[] } | { condition: Condition };

interface ValidatorSettings {
  rules: Map<string, Rule>;
  requiredFields: string[];
  strictMode: boolean;
  allowExtraFields: boolean;
}

function parseRule(read: ConfigReader, field: string, rule: unknown): Rule {
  const key = `rules.${field}`;
  const checkName = (name: unknown, at: string): string => {
    if (typeof name !== "string" || !Object.hasOwn(VALIDATORS, name)) {
      const shown = typeof name === "string" ? `'${name}'` : describe(name);
      throw new FlowDefinitionError(
        `Unknown validator ${shown} at \`${at}\` of DataValidator; the validators are: ${listChoices(String(name), VALIDATOR_NAMES)} ` +
        "A rule can also be a condition: { condition: \"<expression over value>\" }",
      );
    }
    return name;
  };
  if (typeof rule === "string") return { names: [checkName(rule, key)] };
  if (Array.isArray(rule) && rule.length > 0) return { names: rule.map((name, i) => checkName(name, `${key}[${i}]`)) };
  if (isPlainObject(rule) && Object.keys(rule).length === 1 && typeof rule.condition === "string") {
    return { condition: compileCondition(rule.condition, { names: ["value"], where: `DataValidator config ${key}.condition` }) };
  }
  throw read.error(key, "a validator name, a non-empty list of them, or { condition: \"<expression>\" }", rule);
}

function parse(config: Readonly<Record<string, unknown>>): ValidatorSettings {
  const read = new ConfigReader("DataValidator", config, KEYS);
  const rules = new Map<string, Rule>();
  for (const [field, rule] of Object.entries(read.optionalObject("rules") ?? {})) rules.set(field, parseRule(read, field, rule));
  return {
    rules,
    requiredFields: read.stringList("requiredFields", []),
    strictMode: read.boolean("strictMode", false),
    allowExtraFields: read.boolean("allowExtraFields", true),
  };
}

/**
 * Checks data against rules and routes it: `valid` or `invalid`.
 *
 * - Slots: `input` (and `trigger`). The value is the message's `data` field when present, else
 *   the message.
 * - Events: `valid { validatedData }`, `invalid { errors, data }` (`errors`: one sentence per
 *   problem).
 * - Config: `rules`: field name to rule, where a rule is a validator name (`not_empty`,
 *   `is_string`, `is_int`, `is_float`, `is_number`, `is_dict`, `is_list`, `is_positive`,
 *   `is_non_negative`), a list of names (all must hold) or `{ condition: "<expression>" }` (the
 *   safe expression language; it sees `value`, the field's value, `data`, the whole value, and
 *   `config`); `requiredFields` (names that must be present); `strictMode` (default false: stop
 *   at the first problem); `allowExtraFields` (default true; false refuses fields that have
 *   neither a rule nor a place in `requiredFields`).
 *
 * An object value has its fields checked against their rules (a rule for an absent field does
 * not apply: make it required); a list value has each item checked against `rules.items`; any
 * other value is checked against `rules.value`. Required fields need an object value.
 * JSON has one kind of number: `is_int` holds for `2` and `2.0` alike, `is_float` for numbers
 * with a fraction; booleans are not numbers. `not_empty` refuses null, `""`, `[]` and `{}`.
 * Unknown validator names and bad conditions are refused when configured.
 *
 * @example
 * ```ts
 * const check = new DataValidator();
 * check.setConfig({ rules: { name: "not_empty", age: ["is_int", "is_non_negative"] }, requiredFields: ["name"] });
 * ```
 */
export class DataValidator extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.validate);
    this.defineSlot("trigger", this.validate);
    this.defineEvent("valid", ["validatedData"]);
    this.defineEvent("invalid", ["errors", "data"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Validates the message's value and emits `valid` or `invalid`. */
  protected validate(message: Payload): void {
    const data = valueOf(message);
    const errors = validateValue(data, this.#settings, this.config);
    if (errors.length === 0) this.emit("valid", { validatedData: data });
    else this.emit("invalid", { errors, data });
  }
}

/** The problems of `data` under `settings` (empty when it is valid). @internal */
export function validateValue(data: unknown, settings: ValidatorSettings, config: Readonly<Record<string, unknown>>): string[] {
  const { rules, requiredFields, strictMode, allowExtraFields } = settings;
  const errors: string[] = [];
  const full = (): boolean => strictMode && errors.length > 0;
  const check = (field: string, value: unknown, rule: Rule): void => {
    if ("condition" in rule) {
      if (!rule.condition.test({ value, data, config })) errors.push(`Field '${field}' does not meet ${JSON.stringify(rule.condition.source)}`);
      return;
    }
    for (const name of rule.names) {
      if (!VALIDATORS[name]!(value)) {
        errors.push(`Field '${field}' failed ${name}: got ${describe(value)}`);
        return;
      }
    }
  };

  if (isPlainObject(data)) {
    for (const field of requiredFields) {
      if (!Object.hasOwn(data, field)) errors.push(`Required field '${field}' is missing`);
      if (full()) return errors;
    }
    for (const [field, value] of Object.entries(data)) {
      const rule = rules.get(field);
      if (rule !== undefined) check(field, value, rule);
      else if (!allowExtraFields && !requiredFields.includes(field)) errors.push(`Unexpected field '${field}'`);
      if (full()) return errors;
    }
  } else if (requiredFields.length > 0) {
    errors.push(`Expected an object with the required fields ${requiredFields.join(", ")}, got ${describe(data)}`);
  } else if (Array.isArray(data)) {
    const rule = rules.get("items");
    if (rule !== undefined) {
      for (let i = 0; i < data.length && !full(); i++) check(`items[${i}]`, data[i], rule);
    }
  } else {
    const rule = rules.get("value");
    if (rule !== undefined) check("value", data, rule);
  }
  return errors;
}
