import { execFile } from "node:child_process";
import { join } from "node:path";
import { types } from "node:util";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import { FlowDefinitionError, RoutiluxError } from "../../src/index.js";
import {
  EXPRESSION_LIMITS,
  compileCondition,
  compileExpression,
  type JsonValue,
} from "../../src/serialization/expression/index.js";
import { showValue } from "../../src/core/errors.js";
import { thrownBy } from "../fixtures/testing.js";

const order = {
  size: 150,
  status: "ok",
  score: 0.7,
  tags: ["x", "urgent"],
  first: "Ada",
  last: "Lovelace",
  price: 2.5,
  quantity: 4,
  count: 3,
  customer: { name: "Ada", tier: "gold" },
  items: [{ sku: "a", qty: 1 }, { sku: "b", qty: 5 }, { sku: "c", qty: 2 }],
};
const config = { threshold: 100, label: "big orders", skus: ["b", "z"] };

/** The error a compile of `source` throws, which must be a FlowDefinitionError. */
function compileError(source: string, options?: Parameters<typeof compileExpression>[1]): Error {
  const error = thrownBy(() => compileExpression(source, options));
  expect(error).toBeInstanceOf(FlowDefinitionError);
  return error;
}

/** The error an evaluation throws, which must be a RoutiluxError. */
function evaluationError(source: string, data: unknown, cfg: unknown = config): Error {
  const expression = compileExpression(source);
  const error = thrownBy(() => expression.evaluate({ data, config: cfg }));
  expect(error).toBeInstanceOf(RoutiluxError);
  expect(error).not.toBeInstanceOf(FlowDefinitionError);
  return error;
}

/** True for plain JSON: no BigInt, function, proxy, class instance or non-finite number, anywhere. */
function isPlainJson(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      if (value === null) return true;
      if (types.isProxy(value)) return false;
      if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype && value.every(isPlainJson);
      return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(isPlainJson);
    default:
      return false;
  }
}

describe("conditions from flow files", () => {
  const cases: Array<[string, unknown, boolean]> = [
    ["data.size > 100", order, true],
    ["data.size > 100", { size: 50 }, false],
    ['data.status == "ok" && data.score >= 0.5', order, true],
    ['data.status == "ok" && data.score >= 0.5', { ...order, score: 0.2 }, false],
    ['"urgent" in data.tags', order, true],
    ['"urgent" in data.tags', { tags: ["x"] }, false],
    ["data.customer.tier == 'gold' || data.size > 1000", order, true],
    ['data.first.startsWith("A") && data.last.endsWith("lace") && data.last.contains("ove")', order, true],
    ['data.customer.name.lowerAscii() == "ada"', order, true],
    ["size(data.items) == 3 && data.items.size() > 2", order, true],
    ['data.items.exists(i, i.sku == "b" && i.qty >= 5)', order, true],
    ["data.items.all(i, i.qty > 1)", order, false],
    ["data.items.exists_one(i, i.qty > 4)", order, true],
    ["data.items.filter(i, i.qty > 1).size() == 2", order, true],
    ["has(data.customer.tier) && !has(data.customer.email)", order, true],
    ["data.size > config.threshold", order, true],
    ["data.items.exists(i, i.sku in config.skus)", order, true],
    ["data.count % 2 == 1 && data.count + 1 == 4", order, true],
    ["(data.size > 100 ? data.price : 0.0) * 2.0 == 5.0", order, true],
    ["type(data.first) == string && type(data.size) == double", order, true],
  ];

  it.each(cases)("%s on %j is %s", (source, data, expected) => {
    expect(compileCondition(source).test({ data, config })).toBe(expected);
  });

  it("a condition that fails on a message counts as false: a missing field, a wrong type, no data", () => {
    const big = compileCondition("data.size > 100");
    expect(big.test({ data: {}, config })).toBe(false);
    expect(big.test({ data: { size: "huge" }, config })).toBe(false);
    expect(big.test({ data: null, config })).toBe(false);
    expect(big.test({ data: "text", config })).toBe(false);
    expect(big.test({})).toBe(false);
    // The same condition still holds on a message that has the field.
    expect(big.test({ data: { size: 101 } })).toBe(true);
  });

  it("a condition that gives no boolean at run time is false, and evaluate() says why", () => {
    const field = compileCondition("data.flag");
    expect(field.test({ data: { flag: true } })).toBe(true);
    expect(field.test({ data: { flag: "yes" } })).toBe(false);
    expect(field.test({ data: { flag: 1 } })).toBe(false);
    const error = thrownBy(() => field.evaluate({ data: { flag: "yes" } }));
    expect(error).toBeInstanceOf(RoutiluxError);
    expect(error.message).toBe('Expression "data.flag" failed: a condition must give a boolean, and this gave "yes"');
  });

  it("evaluate() of a condition names the expression, where it is configured and the cause", () => {
    const condition = compileCondition("data.size > 100", { where: "routine 'route' config routes[0].when" });
    const error = thrownBy(() => condition.evaluate({ data: {} }));
    expect(error).toBeInstanceOf(RoutiluxError);
    expect(error.message).toBe(
      "Expression \"data.size > 100\" in routine 'route' config routes[0].when failed: No such key: size (at 5)");
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("a condition that can never give a boolean is refused when configured", () => {
    for (const source of ['"text"', "1 + 2", "[true]", "{'a': true}"]) {
      expect(compileExpression(source).kind).toBe("value");
      const error = thrownBy(() => compileCondition(source));
      expect(error).toBeInstanceOf(FlowDefinitionError);
      expect(error.message).toContain("a condition must give a boolean");
    }
  });
});

describe("mappings", () => {
  const value = (source: string, data: unknown = order): JsonValue => compileExpression(source).evaluate({ data, config });

  it("build strings, numbers, lists and objects from the message", () => {
    expect(value('data.first + " " + data.last')).toBe("Ada Lovelace");
    expect(value("data.price * data.quantity")).toBe(10);
    expect(value("data.count + 1")).toBe(4);
    expect(value("size(data.items)")).toBe(3);
    expect(value("data.items.map(i, i.sku)")).toEqual(["a", "b", "c"]);
    expect(value("data.items.map(i, i.qty > 1, i.qty * 10)")).toEqual([50, 20]);
    expect(value('data.size > 100 ? "big" : "small"')).toBe("big");
    expect(value('data.tags.join(", ")')).toBe("x, urgent");
    expect(value('"a,b,c".split(",")')).toEqual(["a", "b", "c"]);
    expect(value("config.label + ': ' + string(data.size)")).toBe("big orders: 150");
    expect(value("{'name': data.customer.name, 'skus': data.items.map(i, i.sku), 'n': 1, 'ok': true, 'none': null}")).toEqual({
      name: "Ada", skus: ["a", "b", "c"], n: 1, ok: true, none: null,
    });
  });

  it("integers come back as numbers, never as BigInt", () => {
    for (const source of ["1 + 2", "size(data.items)", "7 / 2", "-5", "int(data.price)", "[1, 2, 3]", "{'a': 1}", "1u + 2u"]) {
      const result = value(source);
      expect(isPlainJson(result), source).toBe(true);
      expect(JSON.stringify(result), source).toBeDefined();
    }
    expect(value("7 / 2")).toBe(3);
    expect(value("int(data.price)")).toBe(2);
    expect(value("1u + 2u")).toBe(3);
  });

  it("results are plain copies: changing one changes neither the message nor the next result", () => {
    const data = structuredClone(order);
    const expression = compileExpression("data.customer");
    const first = expression.evaluate({ data }) as Record<string, JsonValue>;
    expect(types.isProxy(first)).toBe(false);
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    first.name = "changed";
    expect(data.customer.name).toBe("Ada");
    expect(expression.evaluate({ data })).toEqual({ name: "Ada", tier: "gold" });
  });

  it("a value that is not JSON, or an integer JSON cannot hold exactly, is an error", () => {
    expect(evaluationError("9007199254740993", order).message).toContain("beyond what a JSON number holds exactly");
    expect(evaluationError("1.0 / 0.0", order).message).toContain("the number Infinity is not a JSON value");
    expect(compileError("b'bytes'").message).toContain("it gives bytes, which is not a JSON value");
    expect(compileError("duration('1s')").message).toContain("which is not a JSON value");
    expect(value("timestamp('2024-01-02T03:04:05Z')")).toBe("2024-01-02T03:04:05.000Z");
  });

  it("a mapping that fails on a message throws a RoutiluxError naming the expression and the cause", () => {
    const total = compileExpression("data.price * data.quantity", { where: "routine 'bill' config mapping.total" });
    const error = thrownBy(() => total.evaluate({ data: { price: 2.5 } }));
    expect(error).toBeInstanceOf(RoutiluxError);
    expect(error.message).toBe(
      "Expression \"data.price * data.quantity\" in routine 'bill' config mapping.total failed: No such key: quantity (at 18)");
    expect(evaluationError("data.first + 1", order).message).toBe(
      'Expression "data.first + 1" failed: no such overload: dyn<string> + int (at 0)');
  });

  it("declared names beside data and config can be used, and are checked", () => {
    const expression = compileExpression("source + ':' + data.first", { names: ["source"] });
    expect(expression.evaluate({ data: order, source: "fetch" })).toBe("fetch:Ada");
    expect(compileError("source").message).toContain("unknown name 'source'");
    for (const bad of ["not-an-identifier", "if", "string", "__proto__", ""]) {
      expect(() => compileExpression("data", { names: [bad] }), bad).toThrow(FlowDefinitionError);
    }
  });
});

describe("compiled once, evaluated many times", () => {
  it("one compiled expression gives each message its own result", () => {
    const route = compileExpression('data.size > config.threshold ? "big" : "small"');
    const results = Array.from({ length: 1000 }, (_, size) => route.evaluate({ data: { size }, config }));
    expect(results.filter((r) => r === "big")).toHaveLength(899);
    expect(results[100]).toBe("small");
    expect(results[101]).toBe("big");
    // A failure on one message does not spoil the next.
    expect(() => route.evaluate({ data: {}, config })).toThrow(RoutiluxError);
    expect(route.evaluate({ data: { size: 500 }, config })).toBe("big");
  });

  it("every problem that needs no message is found when configured, not on the first message", () => {
    for (const source of ["data.size >", "data.size > 'a' + 1", "dat.size > 1", "data.__proto__", "data.s.matches('a+')"]) {
      expect(() => compileExpression(source), source).toThrow(FlowDefinitionError);
    }
  });

  it("evaluation leaves the message and the config as they were", () => {
    const data = structuredClone(order);
    const cfg = structuredClone(config);
    compileExpression("data.items.map(i, i.sku).filter(s, s in config.skus) + data.tags").evaluate({ data, config: cfg });
    expect(data).toEqual(order);
    expect(cfg).toEqual(config);
  });

  it("the types: a value is JSON, a condition's test is a boolean", () => {
    expectTypeOf(compileExpression("1").evaluate).returns.toEqualTypeOf<JsonValue>();
    expectTypeOf(compileCondition("true").test).returns.toEqualTypeOf<boolean>();
    // @ts-expect-error a condition has no kind option: it is always a condition
    compileCondition("true", { kind: "value" });
  });
});

describe("errors when configured name the expression and the position", () => {
  it("a refused property name, in the documented form", () => {
    expect(compileError("data.__proto__.x").message)
      .toBe("Invalid expression \"data.__proto__.x\" at 5: property name '__proto__' is not allowed");
  });

  it("where the expression is configured", () => {
    expect(compileError("data.size >", { where: "routine 'route' config routes[0].when" }).message)
      .toBe("Invalid expression \"data.size >\" in routine 'route' config routes[0].when at 11: Unexpected token: EOF");
  });

  it("a syntax error, with line and column when the expression has several lines", () => {
    const error = compileError("data.size > 1 &&\n  data.status == )");
    expect(error.message).toBe(
      "Invalid expression \"data.size > 1 &&\\n  data.status == )\" at 34 (line 2, column 18): Unexpected token: RPAREN");
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("an unknown name, with the names there are and the closest one", () => {
    expect(compileError("dta.size > 1").message).toBe(
      "Invalid expression \"dta.size > 1\" at 0: unknown name 'dta'; the names an expression can use are: data, config. Did you mean 'data'?");
    // A macro's iteration variable is known in its body, and only there.
    expect(compileExpression("data.items.map(i, i.sku)")).toBeDefined();
    expect(compileError("data.items.map(i, i.sku) + [i]").message).toContain("at 28: unknown name 'i'");
  });

  it("a type error", () => {
    expect(compileError("'a' + 1").message).toBe("Invalid expression \"'a' + 1\" at 0: no such overload: string + int");
  });

  it("a long expression is quoted by its start and its length", () => {
    const source = `data.s == "${"x".repeat(200)}" &&`;
    expect(compileError(source).message).toMatch(/^Invalid expression "data\.s == \\"x+…" \(215 characters\) at 215: /);
  });
});

describe("hostile expressions are refused when configured", () => {
  const refusedProperties: Array<[string, string, number]> = [
    ["data.__proto__", "__proto__", 5],
    ['data["__proto__"]', "__proto__", 5],
    ["data['__proto__'].polluted", "__proto__", 5],
    ["data.constructor", "constructor", 5],
    ['data["constructor"]', "constructor", 5],
    ["data[r'constructor']", "constructor", 5],
    ['data["""constructor"""]', "constructor", 5],
    ["data.x.prototype", "prototype", 7],
    ["data.constructor.constructor('return process')", "constructor", 5],
    ["data.constructor('x')", "constructor", 5],
    ["data.a.b.prototype()", "prototype", 9],
    ['"a".constructor', "constructor", 4],
    ["[].constructor.constructor", "constructor", 3],
    ["{}.constructor", "constructor", 3],
    ["(data).constructor", "constructor", 7],
    ["has(data.__proto__)", "__proto__", 9],
    ["data.items.exists(i, i.constructor == 1)", "constructor", 23],
    ["data.items.map(i, i['prototype'])", "prototype", 20],
    ['{"__proto__": {"polluted": true}}', "__proto__", 1],
    ["{'constructor': 1}", "constructor", 1],
    ["data . \n __proto__", "__proto__", 9],
  ];

  it.each(refusedProperties)("%s: property name '%s' at %i", (source, name, offset) => {
    const error = compileError(source);
    expect(error.message).toContain(`property name '${name}' is not allowed`);
    expect(error.message).toMatch(new RegExp(`at ${offset}( \\(line \\d+, column \\d+\\))?: `));
  });

  it.each(["process", "globalThis", "global", "require('fs')", "this", "window", "Function('return 1')", "eval('1')",
    "module", "import('fs')", "data.constructor.constructor('return process')()", "process.env", "Object", "data.x + globalThis.y"])("a global is unreachable: %s", (source) => {
    compileError(source);
  });

  it("matches() and cel.bind() are refused: one can backtrack exponentially, the other escape the budget", () => {
    expect(compileError("data.s.matches('(a+)+$')").message).toContain("matches() is not available");
    expect(compileError("matches(data.s, 'a')").message).toContain("matches() is not available");
    expect(compileError("cel.bind(x, data.items, x.size())").message).toContain("cel.bind");
  });

  it("an expression of 10,000 characters compiles; one of 10,001 is refused", () => {
    const exact = (length: number): string => `data.s == "${"x".repeat(length - 12)}"`;
    expect(exact(EXPRESSION_LIMITS.maxLength)).toHaveLength(10_000);
    expect(compileCondition(exact(10_000)).test({ data: { s: "x".repeat(9_988) } })).toBe(true);
    expect(compileError(exact(10_001)).message).toContain("at 10000: it is 10,001 characters long; the limit is 10,000");
  });

  it("nesting 100 deep compiles; 101 deep is refused, in every kind of bracket and prefix operator", () => {
    const nest = (depth: number, open: string, close: string, inner: string): string => open.repeat(depth) + inner + close.repeat(depth);
    expect(compileExpression(nest(100, "(", ")", "data.x")).evaluate({ data: { x: 1 } })).toBe(1);
    expect(compileExpression(nest(99, "[", "]", "1"))).toBeDefined();
    expect(compileExpression(nest(100, "-", "", "1")).evaluate({})).toBe(1);
    for (const source of [nest(101, "(", ")", "1"), nest(101, "[", "]", "1"), nest(101, "-", "", "1"), nest(101, "!", "", "true"),
      nest(50, "(-", ")", "1") + " + " + nest(51, "(!", ")", "true")]) {
      expect(compileError(source).message, source.slice(0, 10)).toContain("it nests deeper than 100 levels");
    }
    expect(compileError(nest(101, "(", ")", "1")).message).toContain("at 100:");
  });

  it("nesting 100,000 deep is a clean error, not a stack overflow", () => {
    const deep = "(".repeat(100_000) + "1" + ")".repeat(100_000);
    expect(compileError(deep).message).toContain("200,001 characters long");
    // Within the length limit too: 4,999 deep.
    expect(compileError("(".repeat(4_999) + "1" + ")".repeat(4_999)).message).toContain("nests deeper than 100 levels");
    expect(compileError("-".repeat(9_999) + "1").message).toContain("nests deeper than 100 levels");
    expect(compileError("!".repeat(9_996) + "true").message).toContain("nests deeper than 100 levels");
  });

  it("long chains that parse into deep trees are refused instead of overflowing the stack", () => {
    expect(compileError("1" + " + 1".repeat(2_000)).message).toContain("nests deeper than 250 levels once parsed");
    expect(compileError("data" + ".a".repeat(2_000)).message).toContain("Exceeded maxDepth");
    expect(compileError("true ? 1 : ".repeat(900) + "2").message).toContain("Exceeded maxDepth");
    expect(compileExpression("1" + " + 1".repeat(200)).evaluate({})).toBe(201);
  });

  it("brackets and operators inside strings and comments are not nesting", () => {
    const brackets = "(".repeat(300);
    expect(compileCondition(`data.s == "${brackets}" // ${"[".repeat(300)}`).test({ data: { s: brackets } })).toBe(true);
    expect(compileCondition(`data.s == r'\\${"!".repeat(300)}'`).test({ data: { s: `\\${"!".repeat(300)}` } })).toBe(true);
    expect(compileCondition(`data.s == """${"-".repeat(300)}"""`).test({ data: { s: "-".repeat(300) } })).toBe(true);
  });
});

describe("hostile messages meet a bounded evaluation", () => {
  const items = Array.from({ length: 100_000 }, (_, i) => i);

  it("nested macros over a big list stop at the budget, quickly", () => {
    const started = performance.now();
    const error = evaluationError("data.items.exists(a, data.items.exists(b, a + b < 0))", { items });
    expect(error.message).toContain("needs more than its budget of 1,000,000 steps");
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(compileCondition("data.items.exists(a, data.items.exists(b, a + b < 0))").test({ data: { items } })).toBe(false);
  });

  it("nested macros over literal lists stop at the budget too", () => {
    const list = `[${"1,".repeat(999)}1]`;
    expect(evaluationError(`${list}.map(a, ${list}.map(b, ${list}.map(c, a + b + c)))`, {}).message).toContain("budget");
  });

  it("work that is not iteration is charged too: scanning, concatenating and splitting big values", () => {
    const strs = items.slice(0, 5_000).map(String);
    const big = "ab".repeat(500_000);
    const list = items.slice(0, 3_000);
    for (const [source, data] of [
      ["data.strs.exists(s, s in data.big.split('a'))", { strs, big }],
      ["data.strs.exists(s, s in (data.l + data.l + data.l + data.l + data.l + data.l + data.l + data.l))", { strs, l: list }],
      ["data.strs.exists(s, data.big.contains(s + '!'))", { strs, big }],
      ["data.strs.map(s, data.strs.join(','))", { strs }],
      ["data.strs.exists(s, data.a == data.b)", { strs, a: [...list, 1], b: [...list, 2] }],
    ] as const) {
      const started = performance.now();
      expect(evaluationError(source, data).message, source).toContain("budget");
      expect(performance.now() - started, source).toBeLessThan(10_000);
    }
  });

  it("a big string or list used many times through a name is charged at each use", () => {
    const uses = (test: (i: number) => string): string => Array.from({ length: 200 }, (_, i) => test(i)).join(" || ");
    const big = "ab".repeat(500_000);
    expect(evaluationError(`[data.big].exists(b, ${uses((i) => `b.contains('${i}')`)})`, { big }).message).toContain("budget");
    expect(evaluationError(`[data.l + []].exists(l, ${uses((i) => `${-i - 1} in l`)})`, { l: items }).message).toContain("budget");
    // Used once, the same values are well within the budget.
    expect(compileCondition("[data.big].exists(b, b.contains('0'))").test({ data: { big } })).toBe(false);
    expect(compileCondition("[data.l + []].exists(l, -1 in l)").test({ data: { l: items } })).toBe(false);
  });

  it("a spent budget is reported even where CEL would let an error pass (error || true)", () => {
    expect(evaluationError("data.items.exists(a, a < 0) || true", { items: [...items, ...items, ...items, ...items, ...items] })
      .message).toContain("budget");
  });

  it("ordinary work on a big message fits in the budget", () => {
    const data = { items: items.slice(0, 10_000).map((n) => ({ sku: `s${n}`, qty: n % 7 })) };
    expect(compileExpression("data.items.filter(i, i.qty == 0).map(i, i.sku).size()").evaluate({ data })).toBe(1429);
    expect(compileCondition('data.items.exists(i, i.sku == "s9999")').test({ data })).toBe(true);
  });
});

describe("messages are read as JSON, own data properties only", () => {
  it("a getter in the message never runs", () => {
    let calls = 0;
    const data = { get size() { calls++; return 500; } };
    expect(compileCondition("data.size > 100").test({ data })).toBe(false);
    expect(evaluationError("data.size", data).message).toContain("data.size is a getter or setter, not a JSON value");
    expect(evaluationError("data", { nested: data }).message).toContain("data.nested.size is a getter or setter");
    expect(calls).toBe(0);
  });

  it("a class instance in the message is refused, and none of its code runs", () => {
    let calls = 0;
    class Order {
      get size(): number {
        calls++;
        return 500;
      }
    }
    expect(evaluationError("data.size", new Order()).message).toContain("data is an instance of Order, not a JSON value");
    expect(evaluationError("data.o.size", { o: new Order() }).message).toContain("data.o is an instance of Order");
    expect(evaluationError("data.when", { when: new Date(0) }).message).toContain("data.when is an instance of Date");
    expect(calls).toBe(0);
  });

  it("a proxy in the message is refused without calling any of its traps", () => {
    let traps = 0;
    const count = new Proxy({ size: 1 }, {
      get: (target, key) => (traps++, Reflect.get(target, key) as unknown),
      getOwnPropertyDescriptor: (target, key) => (traps++, Reflect.getOwnPropertyDescriptor(target, key)),
      getPrototypeOf: (target) => (traps++, Reflect.getPrototypeOf(target)),
      ownKeys: (target) => (traps++, Reflect.ownKeys(target)),
    });
    expect(evaluationError("data.p.size", { p: count }).message).toContain("data.p is a proxy, not a JSON value");
    expect(evaluationError("data.size", count).message).toContain("data is a proxy");
    expect(traps).toBe(0);
  });

  it("functions and symbols in the message are refused", () => {
    expect(evaluationError("data.f", { f: () => 1 }).message).toContain("data.f is a function");
    expect(evaluationError("data.s", { s: Symbol("s") }).message).toContain("data.s is a symbol");
  });

  it("inherited properties are not found, even when Object.prototype is polluted", () => {
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.polluted = "yes";
    try {
      expect(compileCondition("data.polluted == 'yes'").test({ data: {} })).toBe(false);
      expect(compileCondition("has(data.polluted)").test({ data: {} })).toBe(false);
      expect(compileCondition("data.items.exists(i, i.polluted == 'yes')").test({ data: { items: [{}] } })).toBe(false);
    } finally {
      delete prototype.polluted;
    }
    expect(compileCondition("has(data.toString) || has(data.hasOwnProperty)").test({ data: {} })).toBe(false);
    expect(evaluationError("data.toString", {}).message).toContain("No such key: toString");
  });

  it("a key computed at run time still reaches own properties only", () => {
    const lookup = compileCondition("data[data.key] != null");
    expect(lookup.test({ data: { key: "own", own: 1 } })).toBe(true);
    for (const key of ["constructor", "__proto__", "prototype", "toString", "valueOf"]) {
      expect(lookup.test({ data: { key } }), key).toBe(false);
      expect(evaluationError("data[data.key]", { key }).message, key).toContain(`No such key: ${key}`);
    }
  });

  it("a message whose own key is __proto__ comes back with that key, not a new prototype", () => {
    const data = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copy = compileExpression("data").evaluate({ data }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(["__proto__", "a"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("frozen messages are read like any other", () => {
    const data = Object.freeze({ items: Object.freeze([Object.freeze({ sku: "a" })]), n: 2 });
    expect(compileExpression("data.items.map(i, i.sku + string(data.n))").evaluate({ data })).toEqual(["a2"]);
    expect(compileExpression("data").evaluate({ data })).toEqual({ items: [{ sku: "a" }], n: 2 });
  });
});

describe("no code is generated", () => {
  it("expressions compile and run in a process where eval and new Function throw", async () => {
    const root = join(import.meta.dirname, "..", "..");
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--disallow-code-generation-from-strings", "--import", "tsx", "test/fixtures/expression-no-codegen.ts"],
        { cwd: root, timeout: 20_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve(stdout)));
    });
    expect(JSON.parse(output)).toEqual({
      codegen: "refused",
      big: true,
      name: "Ada Lovelace",
      total: [30],
      summary: { count: 2, all: true },
    });
  });
});

describe("any small expression on any message", () => {
  const field = fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom("a", "n", "s", "l", "m", "missing", "toString") },
    { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "prototype") },
  );
  const literal = fc.oneof(
    fc.integer({ min: -5, max: 5 }).map(String),
    fc.constantFrom("1.5", "0.0", "-2.25", "1u", "9223372036854775807", "'x'", "\"a,b\"", "''", "true", "false", "null", "b'z'", "[]", "{}"),
  );
  const path = fc.tuple(fc.constantFrom("data", "config"), fc.array(field, { maxLength: 3 }))
    .map(([root, keys]) => root + keys.map((k) => `.${k}`).join(""));
  const { expression } = fc.letrec<{ expression: string }>((tie) => ({
    expression: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      literal,
      path,
      fc.tuple(tie("expression"), fc.constantFrom("+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "in"), tie("expression"))
        .map(([l, op, r]) => `(${l} ${op} ${r})`),
      fc.tuple(fc.constantFrom("!", "-"), tie("expression")).map(([op, e]) => `${op}(${e})`),
      fc.tuple(tie("expression"), tie("expression"), tie("expression")).map(([c, t, f]) => `(${c} ? ${t} : ${f})`),
      fc.tuple(fc.constantFrom("size", "string", "int", "double", "dyn", "type", "bool"), tie("expression")).map(([fn, e]) => `${fn}(${e})`),
      fc.tuple(tie("expression"), fc.constantFrom("contains('a')", "startsWith('a')", "size()", "lowerAscii()", "split(',')", "join('-')"))
        .map(([e, m]) => `${e}.${m}`),
      fc.tuple(tie("expression"), fc.constantFrom("all", "exists", "exists_one", "map", "filter"), tie("expression"))
        .map(([list, macro, body]) => `${list}.${macro}(it, ${body.replace("data", "it")})`),
      fc.tuple(tie("expression"), tie("expression")).map(([a, b]) => `[${a}, ${b}]`),
      fc.tuple(tie("expression"), tie("expression")).map(([k, v]) => `{${k}: ${v}}`),
      fc.tuple(tie("expression"), tie("expression")).map(([a, i]) => `${a}[${i}]`),
      path.map((p) => `has(${p.includes(".") ? p : `${p}.a`})`),
    ),
  }));
  const message = fc.record({ a: fc.jsonValue({ maxDepth: 2 }), n: fc.double(), s: fc.string(), l: fc.array(fc.jsonValue({ maxDepth: 1 })),
    m: fc.dictionary(fc.string(), fc.integer()) }, { requiredKeys: [] });

  it("compiling throws only FlowDefinitionError; evaluating gives plain JSON or throws only RoutiluxError", () => {
    fc.assert(fc.property(expression, message, message, (source, data, cfg) => {
      let compiled;
      try {
        compiled = compileExpression(source);
      } catch (error) {
        expect(error).toBeInstanceOf(FlowDefinitionError);
        return;
      }
      try {
        const result = compiled.evaluate({ data, config: cfg });
        expect(isPlainJson(result), `${source} gave ${showValue(result)}`).toBe(true);
      } catch (error) {
        expect(error, source).toBeInstanceOf(RoutiluxError);
      }
      let condition;
      try {
        condition = compileCondition(source);
      } catch (error) {
        expect(error).toBeInstanceOf(FlowDefinitionError);
        return;
      }
      expect(typeof condition.test({ data, config: cfg })).toBe("boolean");
    }), { numRuns: 1000 });
  });
});
