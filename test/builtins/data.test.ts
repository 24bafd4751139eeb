// DataTransformer, DataValidator and DataFlattener: ordinary, edge and hostile input, and
// refusals when configured.
import { afterEach, describe, expect, it } from "vitest";
import { DataFlattener, DataTransformer, DataValidator, FlowDefinitionError } from "../../src/index.js";
import { thrownBy } from "../fixtures/testing.js";
import { closeAll, emitted, emittedEvents, runOnce } from "./helpers.js";

afterEach(closeAll);

function configured<R extends { setConfig(values: Record<string, unknown>): void }>(routine: R, config: Record<string, unknown>): R {
  routine.setConfig(config);
  return routine;
}

describe("DataTransformer", () => {
  const transformer = (transformations: string[], extra: Record<string, unknown> = {}) =>
    configured(new DataTransformer(), { transformations, ...extra });

  it("applies the transformations in order to the message's data", async () => {
    const job = await runOnce(transformer(["lowercase", "strip_whitespace"]), { data: "  HELLO  " });
    expect(emitted(job)).toEqual([{ transformedData: "hello", transformationApplied: ["lowercase", "strip_whitespace"], errors: null }]);
  });

  it("converts numbers and strings, and drops null fields", async () => {
    const run = async (names: string[], data: unknown) => emitted(await runOnce(transformer(names), { data }))[0]!.transformedData;
    expect(await run(["to_int"], "42")).toBe(42);
    expect(await run(["to_int"], 3.9)).toBe(3);
    expect(await run(["to_float"], " 2.5 ")).toBe(2.5);
    expect(await run(["to_string"], { a: 1 })).toBe('{"a":1}');
    expect(await run(["strip", "uppercase"], " x ")).toBe("X");
    expect(await run(["remove_none"], { a: 1, b: null, c: "" })).toEqual({ a: 1, c: "" });
    expect(await run(["lowercase"], 7)).toBe(7);
  });

  it("records a failing transformation and goes on with the value unchanged", async () => {
    const job = await runOnce(transformer(["to_int", "uppercase"]), { data: "not_a_number" });
    expect(emitted(job)).toEqual([{
      transformedData: "NOT_A_NUMBER",
      transformationApplied: ["uppercase"],
      errors: ['Error applying to_int: to_int cannot read `"not_a_number"` (string) as an integer'],
    }]);
  });

  it("applies to the named fields of an object only", async () => {
    const job = await runOnce(transformer(["strip", "lowercase"], { fields: ["email"] }), { data: { email: " Ada@X.COM ", name: " Ada " } });
    expect(emitted(job)[0]!.transformedData).toEqual({ email: "ada@x.com", name: " Ada " });
  });

  it("keeps a '__proto__' field as data", async () => {
    const data = JSON.parse('{"__proto__": {"polluted": true}, "a": null}') as Record<string, unknown>;
    const job = await runOnce(transformer(["remove_none"]), { data });
    const out = emitted(job)[0]!.transformedData as Record<string, unknown>;
    expect(Object.hasOwn(out, "__proto__")).toBe(true);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it("refuses an unknown transformation when configured, suggesting the closest", () => {
    const error = thrownBy(() => transformer(["lowercse"]));
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect(error.message).toMatch(/^Unknown transformations\[0\] 'lowercse' for DataTransformer; the known ones are: lowercase, /);
    expect(error.message).toMatch(/Did you mean 'lowercase'\?$/);
  });
});

describe("DataValidator", () => {
  const validator = (config: Record<string, unknown>) => configured(new DataValidator(), config);

  it("routes valid data to `valid` and invalid data to `invalid` with every problem", async () => {
    const rules = { rules: { name: "not_empty", age: ["is_int", "is_non_negative"] }, requiredFields: ["name"] };
    const good = await runOnce(validator(rules), { data: { name: "Ada", age: 36 } });
    expect(emittedEvents(good)).toEqual(["valid"]);
    expect(emitted(good, "r", "valid")).toEqual([{ validatedData: { name: "Ada", age: 36 } }]);
    const bad = await runOnce(validator(rules), { data: { name: "", age: -1.5 } });
    expect(emitted(bad, "r", "invalid")).toEqual([{
      errors: ["Field 'name' failed not_empty: got `\"\"` (string)", "Field 'age' failed is_int: got `-1.5` (number)"],
      data: { name: "", age: -1.5 },
    }]);
  });

  it("reports missing required fields, and stops at the first problem in strict mode", async () => {
    const missing = await runOnce(validator({ requiredFields: ["name", "age"] }), { data: {} });
    expect(emitted(missing, "r", "invalid")[0]!.errors).toEqual(["Required field 'name' is missing", "Required field 'age' is missing"]);
    const strict = await runOnce(validator({ rules: { a: "is_string", b: "is_string" }, strictMode: true }), { data: { a: 1, b: 2 } });
    expect(emitted(strict, "r", "invalid")[0]!.errors).toHaveLength(1);
  });

  it("checks list items, plain values, extra fields and conditions", async () => {
    const items = await runOnce(validator({ rules: { items: "is_positive" } }), { data: [1, 0, 2] });
    expect(emitted(items, "r", "invalid")[0]!.errors).toEqual(["Field 'items[1]' failed is_positive: got `0` (number)"]);
    const value = await runOnce(validator({ rules: { value: "is_string" } }), { data: 5 });
    expect(emittedEvents(value)).toEqual(["invalid"]);
    const extra = await runOnce(validator({ rules: { a: "is_int" }, allowExtraFields: false }), { data: { a: 1, b: 2 } });
    expect(emitted(extra, "r", "invalid")[0]!.errors).toEqual(["Unexpected field 'b'"]);
    const condition = validator({ rules: { end: { condition: "value > data.start" } } });
    expect(emittedEvents(await runOnce(condition, { data: { start: 1, end: 5 } }))).toEqual(["valid"]);
    expect(emitted(await runOnce(condition, { data: { start: 9, end: 5 } }), "r", "invalid")[0]!.errors)
      .toEqual(['Field \'end\' does not meet "value > data.start"']);
  });

  it("tells JSON types apart as JSON has them: booleans are not numbers, 2.5 is a float, [] is empty", async () => {
    const kinds = validator({ rules: { b: "is_number", f: "is_float", i: "is_int", l: "not_empty", d: "is_dict" } });
    const job = await runOnce(kinds, { data: { b: true, f: 2.5, i: 2, l: [], d: [] } });
    expect(emitted(job, "r", "invalid")[0]!.errors).toEqual([
      "Field 'b' failed is_number: got `true` (boolean)",
      "Field 'l' failed not_empty: got `[]` (array)",
      "Field 'd' failed is_dict: got `[]` (array)",
    ]);
  });

  it("refuses unknown validators and bad conditions when configured", () => {
    const unknown = thrownBy(() => validator({ rules: { age: "is_integer" } })).message;
    expect(unknown).toMatch(/^Unknown validator 'is_integer' at `rules\.age` of DataValidator; the validators are: not_empty, /);
    expect(unknown).toMatch(/is_non_negative\. A rule can also be a condition/);
    const error = thrownBy(() => validator({ rules: { age: { condition: "value.constructor" } } }));
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect(error.message).toContain("in DataValidator config rules.age.condition at 6: property name 'constructor' is not allowed");
  });
});

describe("DataFlattener", () => {
  it("flattens nested objects and lists into dotted keys", async () => {
    const job = await runOnce(new DataFlattener(), { data: { a: { b: 1, c: [2, 3] }, d: { e: { f: { g: 1 } } } } });
    expect(emitted(job)).toEqual([{ flattenedData: { "a.b": 1, "a.c.0": 2, "a.c.1": 3, "d.e.f.g": 1 }, originalType: "object", depth: 4 }]);
  });

  it("uses the configured separator, keeps empty containers, and flattens a scalar to `value`", async () => {
    const r = configured(new DataFlattener(), { separator: "_" });
    expect(emitted(await runOnce(r, { data: { a: { b: 1 }, e: {}, l: [] } }))[0]!.flattenedData).toEqual({ a_b: 1, e: {}, l: [] });
    expect(emitted(await runOnce(new DataFlattener(), { data: 42 }))[0]).toEqual({ flattenedData: { value: 42 }, originalType: "number", depth: 0 });
  });

  it("keeps a value deeper than maxDepth whole, and a '__proto__' key as data", async () => {
    const r = configured(new DataFlattener(), { maxDepth: 2 });
    expect(emitted(await runOnce(r, { data: { a: { b: { c: 1 } } } }))[0]!.flattenedData).toEqual({ "a.b": { c: 1 } });
    const hostile = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    const out = emitted(await runOnce(new DataFlattener(), { data: hostile }))[0]!.flattenedData as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(["__proto__.x"]);
  });

  it("refuses a maxDepth that would let a value exhaust the stack", () => {
    expect(() => configured(new DataFlattener(), { maxDepth: 1_000_000 })).toThrow(
      "Expected `maxDepth` of DataFlattener to be an integer from 1 to 1,000, got `1000000` (number)",
    );
  });
});
