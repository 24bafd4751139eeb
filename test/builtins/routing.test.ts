// ConditionalRouter, Filter, Mapper and Splitter: routing by safe expressions and field matches,
// and hostile expressions refused when configured.
import { afterEach, describe, expect, it } from "vitest";
import { ConditionalRouter, Filter, Flow, FlowDefinitionError, Mapper, Routine, Splitter } from "../../src/index.js";
import { thrownBy } from "../fixtures/testing.js";
import { closeAll, emitted, emittedEvents, runOnce, track } from "./helpers.js";

afterEach(closeAll);

function router(config: Record<string, unknown>): ConditionalRouter {
  const r = new ConditionalRouter();
  r.setConfig(config);
  return r;
}

describe("ConditionalRouter", () => {
  const config = {
    routes: [
      { event: "high", when: "data.priority == 'high' || data.size > config.threshold" },
      { event: "low", match: { priority: "low" } },
    ],
    defaultRoute: "normal",
    threshold: 100,
  };

  it("emits the value on the first route that matches, else on the default route", async () => {
    expect(emitted(await runOnce(router(config), { data: { priority: "high", value: 1 } }))).toEqual([
      { data: { priority: "high", value: 1 }, route: "high" },
    ]);
    expect(emittedEvents(await runOnce(router(config), { data: { size: 150 } }))).toEqual(["high"]);
    expect(emittedEvents(await runOnce(router(config), { data: { priority: "low" } }))).toEqual(["low"]);
    expect(emittedEvents(await runOnce(router(config), { data: { priority: "medium" } }))).toEqual(["normal"]);
    // No data field: the message itself is the value.
    expect(emitted(await runOnce(router(config), { priority: "low" }))).toEqual([{ data: { priority: "low" }, route: "low" }]);
  });

  it("defines its route events when configured, so a flow can connect them", () => {
    const r = router(config);
    expect([...r.events.keys()]).toEqual(["output", "high", "low", "normal"]);
    const flow = track(new Flow());
    flow.addRoutine(r, "route");
    flow.addRoutine(new Filter(), "next");
    expect(() => flow.connect("route", "low", "next", "input")).not.toThrow();
  });

  it("counts a condition that fails on a message (a missing field, a wrong type) as false", async () => {
    const r = router({ routes: [{ event: "big", when: "data.size > 100" }] });
    expect(emitted(await runOnce(r, { data: { other: 1 } }))).toEqual([{ data: { other: 1 }, route: "unmatched" }]);
    expect(emitted(await runOnce(r, { data: { size: "huge" } }))).toEqual([{ data: { size: "huge" }, route: "unmatched" }]);
    expect(emitted(await runOnce(r, { data: "text" }))).toEqual([{ data: "text", route: "unmatched" }]);
  });

  it("with all_matches, emits on every matching route once; reads [event, condition] pairs", async () => {
    const r = router({
      routes: [["a", "data.n > 1"], ["b", { kind: "x" }], ["a", "data.n > 2"], ["c", "data.n > 100"]],
      routePriority: "all_matches",
    });
    expect(emittedEvents(await runOnce(r, { data: { n: 5, kind: "x" } }))).toEqual(["a", "b"]);
  });

  it("sees the whole message as `message`", async () => {
    const r = router({ routes: [{ event: "tagged", when: "has(message.tag) && message.tag == 'vip'" }], defaultRoute: "plain" });
    expect(emittedEvents(await runOnce(r, { data: { n: 1 }, tag: "vip" }))).toEqual(["tagged"]);
  });

  it("refuses routes it cannot read, naming the route", () => {
    expect(thrownBy(() => router({ routes: [{ event: "x" }] })).message).toMatch(/`routes\[0\]` of ConditionalRouter to be a route with exactly one of/);
    expect(thrownBy(() => router({ routes: [{ event: "", when: "true" }] })).message).toMatch(/`routes\[0\]\.event`/);
    expect(thrownBy(() => router({ routes: [{ event: "x", when: "true", unless: "false" }] })).message).toMatch(/`routes\[0\]\.unless`/);
    expect(thrownBy(() => router({ routes: { a: "true" } })).message).toMatch(/`routes` of ConditionalRouter to be a list of routes/);
  });
});

describe("hostile expressions are refused when configured", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["constructor.constructor", "data.constructor.constructor('return process')()", /at \d+: /],
    ["__proto__", "data.__proto__.polluted == true", /property name '__proto__' is not allowed/],
    ["prototype by index", "data['prototype'] == 1", /'prototype' is not allowed/],
    ["a global", "process.exit(1) == 0", /unknown name 'process'/],
    ["deep nesting", `${"(".repeat(150)}true${")".repeat(150)}`, /nests deeper than 100 levels/],
    ["a huge expression", `data.x == '${"a".repeat(10_001)}'`, /the limit is 10,000/],
    ["a regular expression", "data.s.matches('(a+)+$')", /matches/],
  ];

  it.each(cases)("%s", (_name, source, reason) => {
    for (const configure of [
      () => router({ routes: [{ event: "x", when: source }] }),
      () => new Filter().setConfig({ condition: source }),
      () => new Mapper().setConfig({ mapping: { out: source } }),
    ]) {
      const error = thrownBy(configure);
      expect(error).toBeInstanceOf(FlowDefinitionError);
      const where = /(ConditionalRouter config routes\[0\]\.when|Filter config condition|Mapper config mapping\.out)/.source;
      expect(error.message).toMatch(new RegExp(`^Invalid expression ".*"( \\([\\d,]+ characters\\))? in ${where} at \\d+`));
      expect(error.message).toMatch(reason);
    }
  });

  it("a loop over a huge list stops on the budget at run time, and the condition counts as false", async () => {
    const filter = new Filter();
    filter.setConfig({ condition: "data.items.all(a, data.items.all(b, a + b >= 0))" });
    const job = await runOnce(filter, { items: Array.from({ length: 3000 }, (_, i) => i) });
    expect(emittedEvents(job)).toEqual(["rejected"]);
  });

  it("names the routine and the file line when a flow file has a bad expression", () => {
    const spec = { flowId: "f", routines: { gate: { class: "Filter", config: { condition: "data.n >" } } } };
    const error = thrownBy(() => Flow.fromSpec(spec));
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect(error.message).toBe(
      "routines.gate.config: Routine 'gate' (Filter): Invalid expression \"data.n >\" in Filter config condition at 8: Unexpected token: EOF",
    );
  });
});

describe("Filter", () => {
  it("passes the messages that meet the condition and rejects the others, unchanged", async () => {
    const filter = new Filter();
    filter.setConfig({ condition: "data.age >= config.minAge", minAge: 18 });
    expect(emitted(await runOnce(filter, { age: 30, name: "Ada" }), "r", "passed")).toEqual([{ age: 30, name: "Ada" }]);
    expect(emitted(await runOnce(filter, { age: 12 }), "r", "rejected")).toEqual([{ age: 12 }]);
    expect(emittedEvents(await runOnce(filter, { name: "no age" }))).toEqual(["rejected"]);
    expect(emittedEvents(await runOnce(new Filter(), { any: 1 }))).toEqual(["passed"]);
  });
});

describe("Mapper", () => {
  it("builds the output fields from expressions over the message", async () => {
    const mapper = new Mapper();
    mapper.setConfig({
      mapping: { total: "data.price * data.quantity", label: "data.name + ' x' + string(int(data.quantity))", tags: "[config.shop, data.name]" },
      shop: "corner",
    });
    expect(emitted(await runOnce(mapper, { price: 2.5, quantity: 4, name: "tea" }))).toEqual([
      { total: 10, label: "tea x4", tags: ["corner", "tea"] },
    ]);
  });

  it("fails the activation, naming the expression, when a field is missing", async () => {
    const mapper = new Mapper();
    mapper.setConfig({ mapping: { total: "data.price * 2" } });
    const job = await runOnce(mapper, { cost: 1 });
    expect(job.status).toBe("failed");
    const error = job.executionHistory.find((r) => r.eventName === "error");
    expect(String(error?.data.error)).toMatch(/^Expression "data\.price \* 2" in Mapper config mapping\.total failed: /);
  });

  it("refuses output fields that would reach a prototype", () => {
    const hostile = JSON.parse('{"mapping": {"__proto__": "data"}}') as Record<string, unknown>;
    expect(thrownBy(() => new Mapper().setConfig(hostile)).message).toMatch(/output field "__proto__", which is not allowed/);
  });
});

describe("Splitter", () => {
  it("emits one item per element of data.items, with its index and the count", async () => {
    expect(emitted(await runOnce(new Splitter(), { items: ["a", { b: 1 }] }))).toEqual([
      { item: "a", index: 0, count: 2 },
      { item: { b: 1 }, index: 1, count: 2 },
    ]);
    expect(emitted(await runOnce(new Splitter(), { items: [] }))).toEqual([]);
  });

  it("reads the list at the configured field path, and fails naming it when there is none", async () => {
    const splitter = new Splitter();
    splitter.setConfig({ field: "order.lines" });
    expect(emitted(await runOnce(splitter, { order: { lines: [1, 2, 3] } })).map((d) => d.item)).toEqual([1, 2, 3]);
    const job = await runOnce(splitter, { order: { lines: "x" } });
    expect(job.status).toBe("failed");
    expect(String(job.executionHistory.find((r) => r.eventName === "error")?.data.error))
      .toBe("Splitter 'r' expects a list at 'order.lines' of its message, got `\"x\"` (string)");
    expect(() => new Splitter().setConfig({ field: "a..b" })).toThrow(FlowDefinitionError);
  });

  it("fans out: each item runs the next routine, in order", async () => {
    const flow = track(new Flow({ flowId: "fan" }));
    flow.addRoutine(new Splitter(), "split");
    const seen = new Routine();
    seen.defineSlot("input", (data, ctx) => {
      ctx.shared.update<number[]>("seen", (list = []) => [...list, data.item as number]);
    });
    flow.addRoutine(seen, "seen");
    flow.connect("split", "item", "seen", "input");
    const result = await flow.run("split", { entryParams: { items: [3, 1, 2] } });
    expect(result).toMatchObject({ status: "completed", sharedData: { seen: [3, 1, 2] } });
  });
});
