import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { ErrorHandler, Flow, JobState, Routine, RoutineRegistry, RoutiluxError, SerializationError, defaultRegistry } from "../../src/index.js";
import type { ExecutionContext, FlowDocument } from "../../src/index.js";
import { MAX_FLOW_FILE_LENGTH, parseFlowSpec, readFlowFile, stringifyFlowSpec } from "../../src/serialization/flow-file.js";
import { buildFromSpec, documentToSpec, registryWithDefaults, specToDocument } from "../../src/serialization/flow-spec-document.js";
import { FlowSpecError, type FlowSpecIssue, type FlowSpecSource } from "../../src/serialization/flow-spec-error.js";
import { flowSpecJsonSchema, type FlowSpec } from "../../src/serialization/flow-spec.js";
import { thrownBy } from "../fixtures/testing.js";

const FLOWS = new URL("../fixtures/flows/", import.meta.url);
const fixture = (name: string): string => new URL(name, FLOWS).pathname;

class Fetch extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.fetch);
    this.defineEvent("fetched", ["data"]);
  }

  fetch(data: Record<string, unknown>): void {
    this.emit("fetched", { data: { size: Number(data.size ?? 0), url: this.getConfig("url", "") } });
  }
}

class Router extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.route);
    this.defineEvent("big", ["data"]);
    this.defineEvent("small", ["data"]);
  }

  route(data: Record<string, unknown>): void {
    const size = Number((data.data as { size?: unknown } | undefined)?.size ?? 0);
    this.emit(size > 100 ? "big" : "small", data);
  }
}

class Step extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.take);
    this.defineEvent("done");
  }

  take(data: Record<string, unknown>, ctx: ExecutionContext): void {
    ctx.jobState.updateSharedData(`got:${ctx.routineId}`, data);
  }
}

class Broken extends Routine {
  constructor() {
    super();
    throw new Error("Broken cannot be built");
  }
}

class QuotaError extends Error {}

/** A fresh registry with the test's classes; nothing in defaultRegistry. */
function registry(): RoutineRegistry {
  const r = new RoutineRegistry();
  r.register("Fetch", Fetch);
  r.register("ConditionalRouter", Router);
  r.register("Step", Step);
  r.register("Broken", Broken);
  r.registerError("QuotaError", QuotaError);
  return r;
}

/** The 1-based line and column of the `nth` occurrence of `needle` in `text`, found independently of the parser. */
function at(text: string, needle: string, nth = 1): { line: number; column: number } {
  let offset = -1;
  for (let i = 0; i < nth; i++) {
    offset = text.indexOf(needle, offset + 1);
    if (offset === -1) throw new Error(`'${needle}' occurs fewer than ${nth} times`);
  }
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before[before.length - 1] ?? "").length + 1 };
}

/** The FlowSpecError that `fn` throws. */
function specErrorOf(fn: () => unknown): FlowSpecError {
  const error = thrownBy(fn);
  if (!(error instanceof FlowSpecError)) throw new Error(`expected a FlowSpecError, got ${error.name}: ${error.message}`, { cause: error });
  return error;
}

/** The issues of a FlowSpecError, without their messages, for exact comparison. */
function located(error: FlowSpecError): Array<Omit<FlowSpecIssue, "message">> {
  return error.issues.map(({ path, line, column }) => ({ path, ...(line === undefined ? {} : { line, column }) }));
}

function build(spec: FlowSpec, reg: RoutineRegistry = registry(), source?: FlowSpecSource): Flow {
  return buildFromSpec(spec, (doc, r) => Flow.deserialize(doc, r), { registry: reg, source });
}

let review: string;
let reviewJson: string;
beforeAll(async () => {
  review = await readFile(fixture("review.yaml"), "utf8");
  reviewJson = await readFile(fixture("review.json"), "utf8");
});

describe("reading a flow file", () => {
  it("fills in every default for a minimal file", () => {
    const { spec } = parseFlowSpec("flowId: tiny\nroutines:\n  a: { class: Fetch }\n", { fileName: "tiny.yaml" });
    expect(specToDocument(spec, registry())).toEqual({
      version: 1,
      kind: "routilux.flow",
      flowId: "tiny",
      executionStrategy: "sequential",
      maxWorkers: 1,
      executionTimeoutMs: null,
      errorHandler: null,
      routines: [{ id: "a", type: "Fetch", config: {}, errorHandler: null }],
      connections: [],
    } satisfies FlowDocument);
  });

  it("gives a concurrent flow without maxWorkers the same worker count as FlowOptions", () => {
    const doc = specToDocument({ flowId: "c", executionStrategy: "concurrent", routines: {} });
    expect(doc.maxWorkers).toBe(new Flow({ executionStrategy: "concurrent" }).maxWorkers);
    expect(doc.maxWorkers).toBe(5);
  });

  it("fills an error handler's omitted fields with ErrorHandler's defaults", () => {
    const doc = specToDocument({ flowId: "h", routines: { a: { class: "Fetch", errorHandler: { strategy: "retry", maxRetries: 7 } } } }, registry());
    const defaults = new ErrorHandler();
    expect(doc.routines[0]?.errorHandler).toEqual({
      strategy: "retry", maxRetries: 7, retryDelayMs: defaults.retryDelayMs, retryBackoff: defaults.retryBackoff, isCritical: defaults.isCritical,
    });
  });

  it("reads every field of the contract's example", () => {
    const { spec, format } = parseFlowSpec(review, { fileName: "review.yaml" });
    expect(format).toBe("yaml");
    expect(specToDocument(spec, registry())).toEqual({
      version: 1,
      kind: "routilux.flow",
      flowId: "review",
      executionStrategy: "concurrent",
      maxWorkers: 8,
      executionTimeoutMs: 60000,
      errorHandler: { strategy: "continue", maxRetries: 3, retryDelayMs: 100, retryBackoff: 2, isCritical: false },
      routines: [
        { id: "fetch", type: "Fetch", config: { url: "https://example.com" }, errorHandler: null },
        { id: "route", type: "ConditionalRouter", config: { routes: [{ event: "big", when: "data.size > 100" }], defaultRoute: "small" }, errorHandler: null },
        { id: "retry", type: "Step", config: {}, errorHandler: { strategy: "retry", maxRetries: 3, retryDelayMs: 200, retryBackoff: 2, isCritical: false } },
      ],
      connections: [
        { sourceRoutineId: "fetch", sourceEvent: "fetched", targetRoutineId: "route", targetSlot: "input" },
        { sourceRoutineId: "route", sourceEvent: "big", targetRoutineId: "retry", targetSlot: "input", paramMapping: { data: "payload" } },
      ],
    } satisfies FlowDocument);
  });

  it("reads the same flow from JSON as from YAML, by extension or by content", () => {
    const fromYaml = parseFlowSpec(review, { fileName: "review.yaml" });
    const fromJson = parseFlowSpec(reviewJson, { fileName: "review.json" });
    expect(fromJson.format).toBe("json");
    expect(fromJson.spec).toEqual(fromYaml.spec);
    expect(parseFlowSpec(reviewJson).format).toBe("json");
    expect(parseFlowSpec(review).format).toBe("yaml");
    expect(parseFlowSpec("{ flowId: f, routines: {} }").spec).toEqual({ flowId: "f", routines: {} });
  });

  it("builds a flow that runs, with its parameter mapping and error handlers", async () => {
    const flow = build(parseFlowSpec(review).spec);
    try {
      expect(flow.flowId).toBe("review");
      expect(flow.maxWorkers).toBe(8);
      expect(flow.executionTimeoutMs).toBe(60000);
      expect(flow.errorHandler?.strategy).toBe("continue");
      expect(flow.getRoutine("retry")?.getErrorHandler()).toMatchObject({ strategy: "retry", maxRetries: 3, retryDelayMs: 200 });
      expect(flow.getRoutine("fetch")?.getConfig("url")).toBe("https://example.com");
      const job = flow.execute("fetch", { entryParams: { size: 500 } });
      expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
      expect(job.status).toBe("completed");
      expect(job.getSharedData("got:retry")).toEqual({ payload: { size: 500, url: "https://example.com" } });
    } finally {
      await flow.shutdown();
    }
  });

  it("looks a class up in the given registry, then in defaultRegistry", () => {
    class OnlyInDefault extends Routine {}
    defaultRegistry.register("FlowSpecTestOnlyInDefault", OnlyInDefault);
    const flow = build({ flowId: "d", routines: { a: { class: "FlowSpecTestOnlyInDefault" }, b: { class: "Fetch" } } });
    expect(flow.getRoutine("a")).toBeInstanceOf(OnlyInDefault);
    expect(flow.getRoutine("b")).toBeInstanceOf(Fetch);
    // The given registry wins over defaultRegistry for the same name.
    const mine = registry();
    class MyDefault extends Routine {}
    mine.register("FlowSpecTestOnlyInDefault", MyDefault);
    expect(build({ flowId: "d", routines: { a: { class: "FlowSpecTestOnlyInDefault" } } }, mine).getRoutine("a")).toBeInstanceOf(MyDefault);
    expect(registryWithDefaults(mine).get("Fetch")).toBe(Fetch);
  });

  it("keeps retryable error classes by their registered names", () => {
    const spec: FlowSpec = { flowId: "r", routines: { a: { class: "Step", errorHandler: { strategy: "retry", retryable: ["QuotaError", "TypeError"] } } } };
    const handler = build(spec).getRoutine("a")?.getErrorHandler();
    expect(handler?.isRetryable(new QuotaError())).toBe(true);
    expect(handler?.isRetryable(new TypeError())).toBe(true);
    expect(handler?.isRetryable(new RangeError())).toBe(false);
  });

  it("supports anchors and aliases that repeat a value", () => {
    const text = [
      "flowId: aliased",
      "routines:",
      "  a: { class: Step, errorHandler: &retry { strategy: retry, maxRetries: 5 } }",
      "  b: { class: Step, errorHandler: *retry }",
    ].join("\n");
    const { spec } = parseFlowSpec(text);
    expect(spec.routines.b?.errorHandler).toEqual({ strategy: "retry", maxRetries: 5 });
    expect(spec.routines.b?.errorHandler).not.toBe(spec.routines.a?.errorHandler);
  });

  it("reads a file with a byte order mark", () => {
    expect(parseFlowSpec("\uFEFF{\"flowId\": \"bom\", \"routines\": {}}", { fileName: "bom.json" }).spec.flowId).toBe("bom");
  });
});

describe("errors name the file, the path, the line and the column", () => {
  it("locates a YAML syntax error", () => {
    const text = "flowId: x\nroutines:\n  a: { class: Fetch\n  b: { class: Step }\n";
    const error = specErrorOf(() => parseFlowSpec(text, { fileName: "flows/x.yaml" }));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.fileName).toBe("flows/x.yaml");
    expect(error.issues.length).toBeGreaterThan(0);
    // The parser finds the unclosed mapping where the next entry starts, and names that entry.
    expect(located(error)[0]).toEqual({ path: "routines.b", ...at(text, "b: {") });
    expect(error.message).toContain("flows/x.yaml:4:3: routines.b: Flow map in block collection must be sufficiently indented and end with a }");
  });

  it("locates a JSON syntax error", () => {
    const text = "{\n  \"flowId\": \"x\",\n  \"routines\": {},\n}\n";
    const error = specErrorOf(() => parseFlowSpec(text, { fileName: "x.json" }));
    expect(located(error)).toEqual([{ path: "", ...at(text, "}\n") }]);
    expect(error.message).toMatch(/^Invalid flow file 'x\.json': 1 problem\nx\.json:4:1: invalid JSON: /);
  });

  it("reports every schema problem at once, each at its line and column", () => {
    const text = [
      "flowId: 3",
      "executionStrategy: fast",
      "routines:",
      "  fetch: { class: Fetch, klass: Fetch }",
      "  route: { config: { size: 1 } }",
      "  step: { class: Step, errorHandler: { strategy: retry, maxRetries: -1 } }",
      "connections:",
      "  - { from: fetch.fetched, to: route.input, extra: 1 }",
    ].join("\n");
    const error = specErrorOf(() => parseFlowSpec(text, { fileName: "bad.yaml" }));
    expect(located(error)).toEqual([
      { path: "flowId", ...at(text, "3") },
      { path: "executionStrategy", ...at(text, "fast") },
      { path: "routines.fetch.klass", ...at(text, "klass") },
      // A missing field is located at the mapping that lacks it.
      { path: "routines.route.class", ...at(text, "{ config") },
      { path: "routines.step.errorHandler.maxRetries", ...at(text, "-1") },
      { path: "connections[0].extra", ...at(text, "extra") },
    ]);
    expect(error.issueCount).toBe(6);
    const lines = error.message.split("\n");
    expect(lines[0]).toBe("Invalid flow file 'bad.yaml': 6 problems");
    expect(lines[1]).toBe("bad.yaml:1:9: flowId: expected string; got number 3");
    expect(lines[3]).toBe("bad.yaml:4:26: routines.fetch.klass: unknown field 'klass'; the fields here are: class, config, errorHandler. Did you mean 'class'?");
    expect(lines[4]).toMatch(/^bad\.yaml:5:10: routines\.route\.class: required field is missing/);
  });

  it("locates the same problems in a JSON file", () => {
    const text = JSON.stringify({ flowId: "j", routines: { a: { class: "Fetch", klass: 1 }, b: { class: 2 } } }, null, 2);
    const error = specErrorOf(() => parseFlowSpec(text, { fileName: "j.json" }));
    expect(located(error)).toEqual([
      { path: "routines.a.klass", ...at(text, "\"klass\"") },
      { path: "routines.b.class", ...at(text, "2") },
    ]);
  });

  it("names an unknown class with the registered names and the closest one", () => {
    const text = "flowId: x\nroutines:\n  a: { class: Fetc }\n";
    const error = specErrorOf(() => parseFlowSpec(text, { fileName: "x.yaml", registry: registry() }));
    expect(located(error)).toEqual([{ path: "routines.a.class", ...at(text, "Fetc") }]);
    // The given registry's names first, then defaultRegistry's (the built-ins), as classes are looked up.
    expect(error.issues[0]?.message).toMatch(new RegExp(
      "^unknown routine class 'Fetc'; register it before loading: registry\\.register\\(\"Fetc\", Fetc\\)\\. " +
      "Registered classes: Fetch, ConditionalRouter, Step, Broken, TextClipper, .*, HumanInput\\b.*\\. Did you mean 'Fetch'\\?$",
    ));
    // Without positions, the same check runs when the spec is turned into a document.
    const again = specErrorOf(() => specToDocument(parseFlowSpec(text).spec, registry()));
    expect(located(again)).toEqual([{ path: "routines.a.class" }]);
    expect(again.message).toContain("routines.a.class: unknown routine class 'Fetc'");
  });

  it("names an unknown error class in retryable", () => {
    const text = "flowId: x\nroutines:\n  a: { class: Step, errorHandler: { strategy: retry, retryable: [TypeError, QuotaErr] } }\n";
    const error = specErrorOf(() => parseFlowSpec(text, { registry: registry() }));
    expect(located(error)).toEqual([{ path: "routines.a.errorHandler.retryable[1]", ...at(text, "QuotaErr") }]);
  });

  it("names a connection to an unknown routine and suggests the closest id", () => {
    const text = "flowId: x\nroutines:\n  fetch: { class: Fetch }\n  route: { class: ConditionalRouter }\nconnections:\n  - { from: fetch.fetched, to: rout.input }\n";
    const error = specErrorOf(() => parseFlowSpec(text, { fileName: "x.yaml" }));
    expect(located(error)).toEqual([{ path: "connections[0].to", ...at(text, "rout.input") }]);
    expect(error.issues[0]?.message).toBe("unknown routine 'rout'; the flow's routines are: fetch, route. Did you mean 'route'?");
  });

  it("refuses a from or to without a dot", () => {
    const text = "flowId: x\nroutines:\n  fetch: { class: Fetch }\nconnections:\n  - { from: fetch, to: fetch.trigger }\n";
    const error = specErrorOf(() => parseFlowSpec(text));
    expect(located(error)).toEqual([{ path: "connections[0].from", ...at(text, "fetch,") }]);
    expect(error.issues[0]?.message).toBe("expected 'routineId.eventName', such as 'fetch.fetched'; got string \"fetch\"");
  });

  it("refuses the same connection twice", () => {
    const text = "flowId: x\nroutines:\n  a: { class: Fetch }\n  b: { class: Step }\nconnections:\n  - { from: a.fetched, to: b.input }\n  - { from: a.fetched, to: b.input }\n";
    const error = specErrorOf(() => parseFlowSpec(text));
    expect(located(error)).toEqual([{ path: "connections[1]", ...at(text, "{ from", 2) }]);
    expect(error.issues[0]?.message).toBe("duplicate connection a.fetched -> b.input (the same as connections[0])");
  });

  it("refuses maxWorkers with the sequential strategy, which would ignore it", () => {
    const error = specErrorOf(() => parseFlowSpec("flowId: x\nmaxWorkers: 8\nroutines: {}\n"));
    expect(located(error)).toEqual([{ path: "maxWorkers", line: 2, column: 13 }]);
    expect(parseFlowSpec("flowId: x\nmaxWorkers: 1\nroutines: {}\n").spec.maxWorkers).toBe(1);
  });

  it("refuses duplicate keys in YAML and in JSON", () => {
    const yaml = "flowId: x\nroutines:\n  a: { class: Fetch }\n  a: { class: Step }\n";
    expect(located(specErrorOf(() => parseFlowSpec(yaml)))).toEqual([{ path: "routines.a", ...at(yaml, "a:", 2) }]);
    const json = "{\"flowId\": \"x\", \"routines\": {\"a\": {\"class\": \"Fetch\"}, \"a\": {\"class\": \"Step\"}}}";
    const error = specErrorOf(() => parseFlowSpec(json, { fileName: "x.json" }));
    expect(located(error)).toEqual([{ path: "routines.a", ...at(json, "\"a\"", 2) }]);
    expect(error.issues[0]?.message).toBe("duplicate key 'a'");
    // Keys that differ in YAML but not once they are strings collide too.
    expect(located(specErrorOf(() => parseFlowSpec("flowId: x\nroutines: {}\nconnections: []\n1: a\n\"1\": b\n")))).toEqual([
      { path: "[\"1\"]", line: 5, column: 1 },
    ]);
  });

  it("refuses a top level that is a list, a scalar or nothing", () => {
    expect(specErrorOf(() => parseFlowSpec("- a\n- b\n")).issues).toEqual([
      { path: "", message: "expected a mapping with flowId, routines and connections at the top level, got a list", line: 1, column: 1 },
    ]);
    expect(specErrorOf(() => parseFlowSpec("just text")).issues[0]?.message).toBe(
      "expected a mapping with flowId, routines and connections at the top level, got string \"just text\"",
    );
    expect(specErrorOf(() => parseFlowSpec("[1, 2]", { fileName: "l.json" })).issues[0]?.message).toMatch(/got a list$/);
    expect(specErrorOf(() => parseFlowSpec("", { fileName: "e.yaml" })).message).toBe(
      "Invalid flow file 'e.yaml': 1 problem\ne.yaml: the flow file is empty; expected a mapping with flowId, routines and connections",
    );
    expect(specErrorOf(() => parseFlowSpec("  \n", { fileName: "e.json" })).issues[0]?.message).toMatch(/^the flow file is empty/);
  });

  it("refuses several YAML documents in one file", () => {
    const error = specErrorOf(() => parseFlowSpec("flowId: x\nroutines: {}\n---\nflowId: y\nroutines: {}\n"));
    expect(error.issues[0]).toMatchObject({ line: 3, column: 1 });
    expect(error.issues[0]?.message).toMatch(/multiple documents/);
  });

  it("refuses YAML tags and keys that plain JSON cannot hold", () => {
    const tags = specErrorOf(() => parseFlowSpec("flowId: x\nroutines:\n  a: { class: Fetch, config: { blob: !!binary aGVsbG8= } }\n"));
    expect(tags.issues[0]).toMatchObject({ path: "routines.a.config.blob", line: 3 });
    expect(tags.issues[0]?.message).toMatch(/plain YAML values only/);
    const keys = specErrorOf(() => parseFlowSpec("flowId: x\nroutines:\n  ? [a, b]\n  : { class: Fetch }\n"));
    expect(keys.issues).toEqual([{ path: "routines", message: "a key must be a plain string, not a list, a mapping or an alias", line: 3, column: 5 }]);
    const infinite = specErrorOf(() => parseFlowSpec("flowId: x\nexecutionTimeoutMs: .inf\nroutines: {}\n"));
    expect(infinite.issues).toEqual([{ path: "executionTimeoutMs", message: "expected a finite number, got Infinity", line: 2, column: 21 }]);
  });

  it("lists at most 100 problems and counts the rest", () => {
    const connections = Array.from({ length: 300 }, (_, i) => `  - { from: nowhere${i}.out, to: a.input }`);
    const error = specErrorOf(() => parseFlowSpec(`flowId: x\nroutines:\n  a: { class: Step }\nconnections:\n${connections.join("\n")}\n`));
    expect(error.issues).toHaveLength(100);
    expect(error.issueCount).toBe(300);
    expect(error.message.split("\n")).toHaveLength(102);
    expect(error.message).toMatch(/\n\.\.\. and 200 more$/);
  });
});

describe("failures only a built flow finds are mapped back to the file", () => {
  const text = [
    "flowId: built",
    "routines:",
    "  fetch: { class: Fetch }",
    "  step: { class: Step }",
    "connections:",
    "  - { from: fetch.fetched, to: step.input }",
    "  - { from: fetch.fetchd, to: step.input }",
    "  - { from: fetch.fetched, to: step.inptu }",
  ].join("\n");

  it("names an event the class does not define, at its from", () => {
    const lines = text.split("\n");
    const file = parseFlowSpec(lines.slice(0, 7).join("\n"), { fileName: "built.yaml" });
    const error = specErrorOf(() => build(file.spec, registry(), file));
    expect(located(error)).toEqual([{ path: "connections[1].from", ...at(text, "fetch.fetchd") }]);
    expect(error.issues[0]?.message).toBe("Event 'fetchd' not found on routine 'fetch'; its events are: fetched. Did you mean 'fetched'?");
    expect(error.cause).toBeInstanceOf(SerializationError);
  });

  it("names a slot the class does not define, at its to", () => {
    const file = parseFlowSpec(text.replace("fetch.fetchd", "fetch.fetched").replace("step.input }\n  - { from: fetch.fetched, to: step.inptu", "step.inptu"), {
      fileName: "built.yaml",
    });
    const error = specErrorOf(() => build(file.spec, registry(), file));
    expect(error.issues[0]?.path).toBe("connections[1].to");
    expect(error.issues[0]?.message).toBe("Slot 'inptu' not found on routine 'step'; its slots are: input. Did you mean 'input'?");
    expect(error.message).toMatch(/^Invalid flow file 'built\.yaml': 1 problem\nbuilt\.yaml:7:\d+: connections\[1\]\.to: Slot 'inptu'/);
  });

  it("names a class whose constructor throws, at its class", () => {
    const source = "flowId: b\nroutines:\n  ok: { class: Step }\n  bad: { class: Broken }\n";
    const file = parseFlowSpec(source, { fileName: "b.yaml" });
    const error = specErrorOf(() => build(file.spec, registry(), file));
    expect(located(error)).toEqual([{ path: "routines.bad.class", ...at(source, "Broken") }]);
    expect(error.issues[0]?.message).toMatch(/Broken cannot be built/);
  });
});

describe("hostile input", () => {
  it("fails fast on a billion-laughs alias bomb", () => {
    const lines = ["flowId: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i <= 12; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
    lines.push("routines: { r: { class: Step, config: { v: *a12 } } }");
    const started = performance.now();
    const error = specErrorOf(() => parseFlowSpec(lines.join("\n"), { fileName: "bomb.yaml" }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error.issues[0]?.message).toMatch(/^aliases expand too much/);
  });

  it("refuses __proto__ as a routine id, a config key or a mapping key, and pollutes nothing", () => {
    const yaml = [
      "flowId: x",
      "routines:",
      "  __proto__: { class: Step }",
      "  a: { class: Step, config: { __proto__: { polluted: true }, nested: { __proto__: { polluted: true } } } }",
      "connections:",
      "  - { from: a.done, to: a.input, paramMapping: { __proto__: polluted } }",
    ].join("\n");
    const error = specErrorOf(() => parseFlowSpec(yaml));
    expect(located(error)).toEqual([
      { path: "routines.__proto__", ...at(yaml, "__proto__") },
      { path: "routines.a.config.__proto__", ...at(yaml, "__proto__", 2) },
      { path: "routines.a.config.nested.__proto__", ...at(yaml, "__proto__", 3) },
      { path: "connections[0].paramMapping.__proto__", ...at(yaml, "__proto__", 4) },
    ]);
    expect(error.issues[0]?.message).toBe("the key '__proto__' is refused: it would change an object's prototype; rename it");
    const json = "{\"flowId\": \"x\", \"routines\": {\"a\": {\"class\": \"Step\", \"config\": {\"__proto__\": {\"polluted\": true}}}}}";
    expect(located(specErrorOf(() => parseFlowSpec(json, { fileName: "p.json" })))).toEqual([
      { path: "routines.a.config.__proto__", ...at(json, "\"__proto__\"") },
    ]);
    // A spec built in code with an own __proto__ key is refused the same way.
    const config = JSON.parse("{\"__proto__\": {\"polluted\": true}}") as Record<string, unknown>;
    expect(located(specErrorOf(() => specToDocument({ flowId: "x", routines: { a: { class: "Step", config } } }, registry())))).toEqual([
      { path: "routines.a.config.__proto__" },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("keeps other names of Object.prototype as plain routine ids and config keys", () => {
    const text = "flowId: x\nroutines:\n  constructor: { class: Fetch, config: { toString: 1, hasOwnProperty: 2 } }\n  toString: { class: Step }\n" +
      "connections:\n  - { from: constructor.fetched, to: toString.input }\n";
    const { spec } = parseFlowSpec(text);
    expect(Object.keys(spec.routines)).toEqual(["constructor", "toString"]);
    const flow = build(spec);
    expect(flow.getRoutine("constructor")).toBeInstanceOf(Fetch);
    expect(flow.getRoutine("constructor")?.config).toEqual({ toString: 1, hasOwnProperty: 2 });
    expect(documentToSpec(flow.serialize(registry()))).toEqual(spec);
    // But an undeclared routine named like a prototype member is still unknown.
    const error = specErrorOf(() => parseFlowSpec("flowId: x\nroutines: {}\nconnections:\n  - { from: valueOf.a, to: hasOwnProperty.b }\n"));
    expect(error.issues.map((i) => i.path)).toEqual(["connections[0].from", "connections[0].to"]);
  });

  it("refuses nesting deeper than 100 levels without exhausting the stack", () => {
    const deep = (n: number): string => `${"[".repeat(n)}${"]".repeat(n)}`;
    const yaml = `flowId: x\nroutines:\n  a: { class: Step, config: { v: ${deep(100_000)} } }\n`;
    expect(specErrorOf(() => parseFlowSpec(yaml)).issues[0]?.message).toMatch(/nested too deep/);
    const json = `{"flowId": "x", "routines": {"a": {"class": "Step", "config": {"v": ${deep(100_000)}}}}}`;
    const error = specErrorOf(() => parseFlowSpec(json, { fileName: "deep.json" }));
    expect(error.issues[0]?.message).toMatch(/nested too deep: flow files are limited to 100 levels/);
    expect(error.issues[0]?.line).toBe(1);
    // 90 levels of configuration are fine.
    expect(parseFlowSpec(`flowId: x\nroutines:\n  a: { class: Step, config: { v: ${deep(90)} } }\n`).spec.routines.a?.config).toBeDefined();
  });

  it("reads a flow of 2,000 routines and 2,000 connections quickly", () => {
    const n = 2000;
    const lines = ["flowId: huge", "executionStrategy: concurrent", "routines:"];
    for (let i = 0; i < n; i++) lines.push(`  r${i}: { class: ${i === 0 ? "Fetch" : "Step"}, config: { index: ${i}, label: "routine ${i}" } }`);
    lines.push("connections:");
    for (let i = 1; i < n; i++) lines.push(`  - { from: r0.fetched, to: r${i}.input }`);
    lines.push(`  - { from: r0.fetched, to: r${n - 1}.inptu }`);
    const text = lines.join("\n");
    const started = performance.now();
    const file = parseFlowSpec(text, { fileName: "huge.yaml" });
    const jsonFile = parseFlowSpec(JSON.stringify(file.spec), { fileName: "huge.json" });
    const error = specErrorOf(() => build(jsonFile.spec, registry(), jsonFile));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(Object.keys(file.spec.routines)).toHaveLength(n);
    expect(file.spec.connections).toHaveLength(n);
    expect(error.issues).toEqual([
      { path: `connections[${n - 1}].to`, message: expect.stringMatching(/^Slot 'inptu'/) as unknown, line: 1, column: expect.any(Number) as unknown },
    ]);
    expect(JSON.stringify(file.spec).slice(error.issues[0]!.column! - 1)).toMatch(/^"r0\.fetched","to":"r1999\.inptu"|^"r1999\.inptu"/);
  });

  it("refuses a file over the size limit before parsing it", () => {
    const text = `flowId: x\nroutines: {}\n#${"x".repeat(MAX_FLOW_FILE_LENGTH)}`;
    const started = performance.now();
    const error = specErrorOf(() => parseFlowSpec(text, { fileName: "big.yaml" }));
    expect(performance.now() - started).toBeLessThan(500);
    expect(error.issues[0]?.message).toBe(`the file has ${text.length} characters; flow files are limited to ${MAX_FLOW_FILE_LENGTH}`);
  });
});

describe("round trips", () => {
  it("spec -> document -> Flow -> document -> spec -> document gives the same document", () => {
    const reg = registry();
    for (const text of [review, "flowId: tiny\nroutines:\n  a: { class: Fetch }\n"]) {
      const doc = specToDocument(parseFlowSpec(text).spec, reg);
      const flow = Flow.deserialize(doc, registryWithDefaults(reg));
      const written = flow.serialize(registryWithDefaults(reg));
      expect(written).toEqual(doc);
      expect(specToDocument(documentToSpec(written), reg)).toEqual(doc);
    }
  });

  it("writes a flow as a spec without its defaults", () => {
    const flow = build(parseFlowSpec(review).spec);
    expect(documentToSpec(flow.serialize(registry()))).toEqual({
      flowId: "review",
      executionStrategy: "concurrent",
      maxWorkers: 8,
      executionTimeoutMs: 60000,
      errorHandler: { strategy: "continue" },
      routines: {
        fetch: { class: "Fetch", config: { url: "https://example.com" } },
        route: { class: "ConditionalRouter", config: { routes: [{ event: "big", when: "data.size > 100" }], defaultRoute: "small" } },
        retry: { class: "Step", errorHandler: { strategy: "retry", retryDelayMs: 200 } },
      },
      connections: [
        { from: "fetch.fetched", to: "route.input" },
        { from: "route.big", to: "retry.input", paramMapping: { data: "payload" } },
      ],
    } satisfies FlowSpec);
    const plain = new Flow({ flowId: "plain" });
    plain.addRoutine(new Step(), "s");
    expect(documentToSpec(plain.serialize(registry()))).toEqual({ flowId: "plain", routines: { s: { class: "Step" } } });
    // An explicit "stop" handler is not the same as none: it is kept.
    plain.getRoutine("s")?.setErrorHandler(new ErrorHandler());
    expect(documentToSpec(plain.serialize(registry())).routines.s).toEqual({ class: "Step", errorHandler: { strategy: "stop" } });
  });

  it("refuses to write a flow whose routine ids a flow file cannot hold", () => {
    const flow = new Flow({ flowId: "dotted" });
    flow.addRoutine(new Step(), "a.b");
    const error = specErrorOf(() => documentToSpec(flow.serialize(registry())));
    expect(error.message).toBe("Cannot write flow 'dotted' as a flow file: 1 problem\nroutines[\"a.b\"]: a routine id in a flow file contains no '.'");
    expect(thrownBy(() => documentToSpec({ flowId: "x" } as unknown as FlowDocument))).toBeInstanceOf(SerializationError);
  });

  it("YAML text -> spec -> YAML text -> spec gives the same spec", () => {
    const first = parseFlowSpec(review).spec;
    const yaml = stringifyFlowSpec(first, "yaml");
    expect(parseFlowSpec(yaml).spec).toEqual(first);
    expect(yaml).toContain("  - { from: fetch.fetched, to: route.input }\n");
    expect(stringifyFlowSpec(parseFlowSpec(yaml).spec, "yaml")).toBe(yaml);
    const json = stringifyFlowSpec(first, "json");
    expect(JSON.parse(json)).toEqual(first);
    expect(parseFlowSpec(json, { fileName: "r.json" }).spec).toEqual(first);
  });

  it("writes strings that look like other YAML values so that they read back as strings", () => {
    const words = ["true", "no", "null", "~", "1", "0x10", "1e3", ".inf", "a: b", "#x", " lead", "trail ", "multi\nline", "- item", "*alias", "&anchor", "!tag", "", "'", "\""];
    const spec: FlowSpec = { flowId: "strings", routines: { a: { class: "Step", config: Object.fromEntries(words.map((w, i) => [`k${i}`, w])) } } };
    expect(parseFlowSpec(stringifyFlowSpec(spec, "yaml")).spec).toEqual(spec);
  });

  it("round-trips generated flows through YAML and JSON text", () => {
    const id = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
    // A `__proto__` key at any depth is refused by the parser (its own test covers that): none is generated.
    const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown).filter((v) => !JSON.stringify(v).includes("\"__proto__\""));
    const key = fc.string({ maxLength: 6 }).filter((k) => k !== "__proto__");
    const handler = fc.record({
      strategy: fc.constantFrom("stop", "continue", "retry", "skip" as const),
      maxRetries: fc.nat(10),
      retryDelayMs: fc.nat(10_000),
    }, { requiredKeys: [] });
    const spec = fc.dictionary(id, fc.record({
      class: fc.constantFrom("Fetch", "Step"),
      config: fc.dictionary(key, json, { maxKeys: 4 }),
      errorHandler: handler,
    }, { requiredKeys: ["class"] }), { minKeys: 1, maxKeys: 6 }).chain((routines) => {
      const ids = Object.keys(routines);
      const connection = fc.record({
        from: fc.constantFrom(...ids).map((r) => `${r}.out`),
        to: fc.constantFrom(...ids).map((r) => `${r}.input`),
      });
      return fc.record({
        flowId: id,
        routines: fc.constant(routines),
        connections: fc.uniqueArray(connection, { selector: (c) => `${c.from}->${c.to}`, maxLength: 5 }),
      });
    });
    fc.assert(fc.property(spec, (s: FlowSpec) => {
      expect(parseFlowSpec(stringifyFlowSpec(s, "yaml")).spec).toEqual(s);
      expect(parseFlowSpec(stringifyFlowSpec(s, "json"), { fileName: "g.json" }).spec).toEqual(s);
      expect(specToDocument(documentToSpec(specToDocument(s, registry())), registry())).toEqual(specToDocument(s, registry()));
    }), { numRuns: 150 });
  });
});

describe("reading files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "routilux-flow-spec-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a YAML file and a JSON file", async () => {
    const yaml = await readFlowFile(fixture("review.yaml"));
    const json = await readFlowFile(fixture("review.json"));
    expect(yaml.fileName).toBe(fixture("review.yaml"));
    expect(json.format).toBe("json");
    expect(json.spec).toEqual(yaml.spec);
  });

  it("names the file in every problem", async () => {
    const path = fixture("broken.yaml");
    const error = await readFlowFile(path).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FlowSpecError);
    const lines = (error as FlowSpecError).message.split("\n").slice(1);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.startsWith(`${path}:`)).toBe(true);
  });

  it("tells a missing file or a directory apart from a bad one", async () => {
    const missing = join(dir, "nope.yaml");
    const error = await readFlowFile(missing).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RoutiluxError);
    expect(error).not.toBeInstanceOf(SerializationError);
    expect((error as Error).message).toMatch(new RegExp(`^Flow file not found: '${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}'`));
    const directory = await readFlowFile(dir).then(() => undefined, (e: unknown) => e);
    expect((directory as Error).message).toBe(`Expected a flow file at '${dir}', got a directory`);
  });

  it("chooses the format of a file without a known extension by its content", async () => {
    const path = join(dir, "flow.txt");
    await writeFile(path, reviewJson);
    expect((await readFlowFile(path)).format).toBe("json");
    await writeFile(path, review);
    expect((await readFlowFile(path)).format).toBe("yaml");
  });
});

describe("the JSON Schema", () => {
  it("is committed in step with the code (run `npm run schema` to rewrite it)", async () => {
    const committed = await readFile(new URL("../../schema/flow-spec.schema.json", import.meta.url), "utf8");
    expect(committed).toBe(`${JSON.stringify(flowSpecJsonSchema(), null, 2)}\n`);
  });

  it("is exported by the package and describes every field", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { exports: Record<string, unknown>; files: string[] };
    expect(pkg.exports["./flow-spec.schema.json"]).toBe("./schema/flow-spec.schema.json");
    expect(pkg.files).toContain("schema");
    type Schema = { required: string[]; additionalProperties: boolean; properties: Record<string, { description?: string }> };
    const schema = flowSpecJsonSchema() as Schema;
    expect(schema.required).toEqual(["flowId", "routines"]);
    expect(schema.additionalProperties).toBe(false);
    for (const [name, field] of Object.entries(schema.properties)) expect(field.description, name).toMatch(/\w/);
  });
});

describe("types", () => {
  it("types a spec as written in a file", () => {
    const spec = {
      flowId: "t",
      routines: { a: { class: "Fetch", config: { url: "x" } } },
      connections: [{ from: "a.fetched", to: "a.trigger" }],
    } satisfies FlowSpec;
    expectTypeOf(spec).toExtend<FlowSpec>();
    // @ts-expect-error flowId is required
    const noId: FlowSpec = { routines: {} };
    // @ts-expect-error an unknown strategy
    const badStrategy: FlowSpec = { flowId: "t", executionStrategy: "parallel", routines: {} };
    expect([noId, badStrategy]).toHaveLength(2);
  });
});
