import { describe, expect, it } from "vitest";
import {
  ErrorHandler, FLOW_DOCUMENT_VERSION, Flow, JobState, Routine, RoutineRegistry, RoutiluxError, SerializationError,
  SimulatedClock, defaultRegistry, type ExecutionContext, type FlowDocument,
} from "../../src/index.js";
import { thrownBy, trace } from "../fixtures/testing.js";

class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.send);
    this.defineEvent("out", ["a", "b"]);
  }

  send(data: Record<string, unknown>): void {
    this.emit("out", { a: Number(data.n ?? 1) * this.getConfig("factor", 1), b: this.getConfig("label", "none") });
  }
}

class Sink extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.take, { mergeStrategy: "append" });
  }

  take(data: Record<string, unknown>, ctx: ExecutionContext): void {
    ctx.jobState.updateSharedData(`sink:${ctx.routineId}`, data);
  }
}

class NeedsArgs extends Routine {
  constructor(required?: string) {
    super();
    if (required === undefined) throw new Error("NeedsArgs requires a name");
  }
}

class QuotaError extends Error {}

function registry(): RoutineRegistry {
  const r = new RoutineRegistry();
  r.register("Source", Source);
  r.register("sink.append", Sink);
  return r;
}

function buildFlow(): Flow {
  const flow = new Flow({
    flowId: "doc-flow",
    executionStrategy: "concurrent",
    maxWorkers: 3,
    executionTimeoutMs: 5000,
    errorHandler: new ErrorHandler({ strategy: "continue" }),
  });
  const source = new Source();
  source.setConfig({ factor: 10, label: "ten", nested: { list: [1, "two", null] } });
  source.setErrorHandler(new ErrorHandler({ strategy: "retry", maxRetries: 4, retryDelayMs: 50, retryBackoff: 3, retryable: [TypeError, RangeError] }));
  const sinkA = new Sink();
  sinkA.setAsOptional("skip");
  const sinkB = new Sink();
  sinkB.setAsCritical({ maxRetries: 1, retryDelayMs: 5 });
  flow.addRoutine(source, "source");
  flow.addRoutine(sinkA, "sinkA");
  flow.addRoutine(sinkB, "sinkB");
  flow.connect("source", "out", "sinkA", "input", { a: "x" });
  flow.connect("source", "out", "sinkB", "input");
  return flow;
}

const throughJson = (doc: FlowDocument): unknown => JSON.parse(JSON.stringify(doc));

describe("flow documents", () => {
  it("write the structure: routines by registered name with config and error handler, connections with mappings, options", () => {
    const doc = buildFlow().serialize(registry());
    expect(doc).toEqual({
      version: FLOW_DOCUMENT_VERSION,
      kind: "routilux.flow",
      flowId: "doc-flow",
      executionStrategy: "concurrent",
      maxWorkers: 3,
      executionTimeoutMs: 5000,
      errorHandler: { strategy: "continue", maxRetries: 3, retryDelayMs: 100, retryBackoff: 2, isCritical: false },
      routines: [
        {
          id: "source",
          type: "Source",
          config: { factor: 10, label: "ten", nested: { list: [1, "two", null] } },
          errorHandler: { strategy: "retry", maxRetries: 4, retryDelayMs: 50, retryBackoff: 3, isCritical: false, retryable: ["TypeError", "RangeError"] },
        },
        { id: "sinkA", type: "sink.append", config: {}, errorHandler: { strategy: "skip", maxRetries: 3, retryDelayMs: 100, retryBackoff: 2, isCritical: false } },
        { id: "sinkB", type: "sink.append", config: {}, errorHandler: { strategy: "retry", maxRetries: 1, retryDelayMs: 5, retryBackoff: 2, isCritical: true } },
      ],
      connections: [
        { sourceRoutineId: "source", sourceEvent: "out", targetRoutineId: "sinkA", targetSlot: "input", paramMapping: { a: "x" } },
        { sourceRoutineId: "source", sourceEvent: "out", targetRoutineId: "sinkB", targetSlot: "input" },
      ],
    });
  });

  it("round trip through JSON: the rebuilt flow writes the same document and has the same routines, handlers and wiring", () => {
    const original = buildFlow();
    const doc = original.serialize(registry());
    const rebuilt = Flow.deserialize(throughJson(doc), registry());
    expect(rebuilt).toBeInstanceOf(Flow);
    expect(rebuilt).not.toBe(original);
    expect(rebuilt.serialize(registry())).toEqual(doc);
    expect(rebuilt.getRoutine("source")).toBeInstanceOf(Source);
    expect(rebuilt.getRoutine("sinkB")).toBeInstanceOf(Sink);
    expect(rebuilt.getRoutine("source")!.config).toEqual({ factor: 10, label: "ten", nested: { list: [1, "two", null] } });
    const handler = rebuilt.getRoutine("source")!.getErrorHandler()!;
    expect([handler.strategy, handler.maxRetries, handler.retryDelayMs, handler.retryBackoff]).toEqual(["retry", 4, 50, 3]);
    expect(handler.isRetryable(new TypeError("t"))).toBe(true);
    expect(handler.isRetryable(new Error("plain"))).toBe(false);
    expect(rebuilt.getRoutine("sinkB")!.getErrorHandler()!.isCritical).toBe(true);
    expect(rebuilt.errorHandler?.strategy).toBe("continue");
    expect([rebuilt.executionStrategy, rebuilt.maxWorkers, rebuilt.executionTimeoutMs]).toEqual(["concurrent", 3, 5000]);
    expect(rebuilt.connections.map((c) => [c.id, c.paramMapping])).toEqual(original.connections.map((c) => [c.id, c.paramMapping]));
  });

  it("the rebuilt flow runs a job exactly as the original does", async () => {
    const original = buildFlow();
    const rebuilt = Flow.deserialize(throughJson(original.serialize(registry())), registry());
    const results = [];
    for (const flow of [original, rebuilt]) {
      const job = flow.execute("source", { entryParams: { n: 4 } });
      expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
      expect(job.status).toBe("completed");
      results.push({ history: trace(job.executionHistory), data: job.executionHistory.map((r) => r.data), shared: job.sharedData });
    }
    expect(results[1]).toEqual(results[0]);
    // Configuration and the param mapping were applied.
    expect(results[1]!.shared).toEqual({ "sink:sinkA": { x: [40], b: ["ten"] }, "sink:sinkB": { a: [40], b: ["ten"] } });
  });

  it("routines are named by class name when no registry names them, and defaultRegistry is used when none is given", () => {
    class DefaultRegisteredSource extends Source {}
    defaultRegistry.register("test.DefaultRegisteredSource", DefaultRegisteredSource);
    const flow = new Flow({ flowId: "names" });
    flow.addRoutine(new DefaultRegisteredSource(), "a");
    flow.addRoutine(new Sink(), "b");
    const doc = flow.serialize();
    expect(doc.routines.map((r) => r.type)).toEqual(["test.DefaultRegisteredSource", "Sink"]);
    expect(thrownBy(() => Flow.deserialize(doc)).message).toContain("'Sink'");
    defaultRegistry.register("Sink", Sink);
    const rebuilt = Flow.deserialize(throughJson(doc));
    expect(rebuilt.getRoutine("a")).toBeInstanceOf(DefaultRegisteredSource);
    expect(rebuilt.getRoutine("b")).toBeInstanceOf(Sink);
  });

  it("an unknown routine name fails, naming it, its routine and how to register it", () => {
    const doc = buildFlow().serialize(registry());
    const partial = new RoutineRegistry();
    partial.register("Source", Source);
    const error = thrownBy(() => Flow.deserialize(doc, partial));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe("routines[1].type");
    expect(error.message).toContain("unknown routine type 'sink.append'");
    expect(error.message).toContain("routine 'sinkA'");
    expect(error.message).toContain("defaultRegistry.register(\"sink.append\", sink.append)");
    expect(error.message).toContain("Registered names: Source");
  });

  it("a plain Routine is written as 'Routine', and reading it explains that a subclass is needed", () => {
    const flow = new Flow({ flowId: "plain" });
    const r = new Routine();
    r.defineSlot("trigger", () => undefined);
    flow.addRoutine(r, "adhoc");
    const doc = flow.serialize();
    expect(doc.routines[0]!.type).toBe("Routine");
    const error = thrownBy(() => Flow.deserialize(doc, new RoutineRegistry()));
    expect(error.message).toContain("defaultRegistry.register(\"Routine\", Routine)");
    expect(error.message).toContain("define a subclass");
  });

  it("an instance of an anonymous class cannot be written: the error names the routine", () => {
    const flow = new Flow({ flowId: "anon" });
    const Anonymous = (() => class extends Routine {})();
    flow.addRoutine(new Anonymous(), "nameless");
    const error = thrownBy(() => flow.serialize());
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe("routines[0].type");
    expect(error.message).toContain("'nameless'");
  });

  it("configuration that JSON cannot hold is reported with its path", () => {
    const flow = new Flow({ flowId: "bad-config" });
    const source = new Source();
    source.setConfig({ ok: 1, transform: (x: number) => x * 2 });
    flow.addRoutine(new Source(), "first");
    flow.addRoutine(source, "second");
    const error = thrownBy(() => flow.serialize(registry()));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe("routines[1].config.transform");
    expect(error.message).toContain("function");
  });

  it("a routine class that needs constructor arguments fails with a message naming the routine", () => {
    const r = registry();
    r.register("NeedsArgs", NeedsArgs);
    const doc = {
      ...buildFlow().serialize(registry()),
      routines: [{ id: "needy", type: "NeedsArgs", config: {}, errorHandler: null }],
      connections: [],
    };
    const error = thrownBy(() => Flow.deserialize(doc, r));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.message).toContain("'needy'");
    expect(error.message).toContain("NeedsArgs requires a name");
    expect(error.message).toContain("without arguments");
  });

  it("Flow.deserialize takes what a document does not hold, such as the clock", () => {
    const clock = new SimulatedClock();
    const flow = Flow.deserialize(buildFlow().serialize(registry()), registry(), { clock });
    expect(flow.clock).toBe(clock);
  });
});

describe("retryable filters in flow documents", () => {
  const handlerDoc = (handler: ErrorHandler, r: RoutineRegistry): FlowDocument["routines"][number]["errorHandler"] => {
    const flow = new Flow({ flowId: "retry" });
    const source = new Source();
    source.setErrorHandler(handler);
    flow.addRoutine(source, "source");
    return flow.serialize(r).routines[0]!.errorHandler;
  };

  it("a list of registered error classes is written by name and read back as the same classes", () => {
    const r = registry();
    r.registerError("QuotaError", QuotaError);
    const doc = handlerDoc(new ErrorHandler({ strategy: "retry", retryable: [QuotaError, TypeError] }), r);
    expect(doc?.retryable).toEqual(["QuotaError", "TypeError"]);
    expect(doc?.retryableOmitted).toBeUndefined();
  });

  it("a list with an unregistered class is omitted, and the document says why", () => {
    const doc = handlerDoc(new ErrorHandler({ strategy: "retry", retryable: [QuotaError, TypeError] }), registry());
    expect(doc?.retryable).toBeUndefined();
    expect(doc?.retryableOmitted).toContain("QuotaError");
    expect(doc?.retryableOmitted).toContain("every error is retryable");
  });

  it("a predicate is omitted, and the document says why; after reading, every error is retryable", () => {
    const flow = new Flow({ flowId: "pred" });
    const source = new Source();
    source.setErrorHandler(new ErrorHandler({ strategy: "retry", retryable: (e) => e instanceof QuotaError }));
    flow.addRoutine(source, "source");
    const doc = flow.serialize(registry());
    expect(doc.routines[0]!.errorHandler?.retryableOmitted).toContain("predicate");
    const rebuilt = Flow.deserialize(throughJson(doc), registry());
    expect(rebuilt.getRoutine("source")!.getErrorHandler()!.isRetryable(new Error("any"))).toBe(true);
  });

  it("reading a retryable name the registry does not know fails, naming it and how to register it", () => {
    const r = registry();
    r.registerError("QuotaError", QuotaError);
    const flow = new Flow({ flowId: "retry-unknown" });
    const source = new Source();
    source.setErrorHandler(new ErrorHandler({ strategy: "retry", retryable: [QuotaError] }));
    flow.addRoutine(source, "source");
    const doc = flow.serialize(r);
    const error = thrownBy(() => Flow.deserialize(doc, registry()));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe("routines[0].errorHandler.retryable[0]");
    expect(error.message).toContain("registerError(\"QuotaError\", QuotaError)");
  });
});

describe("malformed FlowDocuments", () => {
  type Json = Record<string, unknown>;
  const base = (): Json => JSON.parse(JSON.stringify(buildFlow().serialize(registry()))) as Json;
  const routines = (doc: Json): Json[] => doc.routines as Json[];
  const connections = (doc: Json): Json[] => doc.connections as Json[];

  it.each<[string, (doc: Json) => unknown, string]>([
    ["version is missing", (d) => ({ ...d, version: undefined }), "version"],
    ["version is newer", (d) => ({ ...d, version: 7 }), "version"],
    ["kind is a job's", (d) => ({ ...d, kind: "routilux.job" }), "kind"],
    ["flowId is empty", (d) => ({ ...d, flowId: "" }), "flowId"],
    ["executionStrategy is unknown", (d) => ({ ...d, executionStrategy: "parallel" }), "executionStrategy"],
    ["maxWorkers is 0", (d) => ({ ...d, maxWorkers: 0 }), "maxWorkers"],
    ["executionTimeoutMs is negative", (d) => ({ ...d, executionTimeoutMs: -1 }), "executionTimeoutMs"],
    ["a routine lacks its type", (d) => { delete routines(d)[1]!.type; return d; }, "routines[1].type"],
    ["a routine's config holds a function", (d) => { routines(d)[0]!.config = { fn: () => 1 }; return d; }, "routines[0].config.fn"],
    ["an error handler's strategy is unknown", (d) => { (routines(d)[0]!.errorHandler as Json).strategy = "explode"; return d; }, "routines[0].errorHandler.strategy"],
    ["an error handler's backoff is below 1", (d) => { (routines(d)[0]!.errorHandler as Json).retryBackoff = 0.5; return d; }, "routines[0].errorHandler.retryBackoff"],
    ["two routines share an id", (d) => { routines(d)[2]!.id = "sinkA"; return d; }, "routines[2].id"],
    ["a connection names an unknown routine", (d) => { connections(d)[1]!.targetRoutineId = "ghost"; return d; }, "connections[1].targetRoutineId"],
    ["a connection names an event the class lacks", (d) => { connections(d)[0]!.sourceEvent = "output"; return d; }, "connections[0].sourceEvent"],
    ["a connection names a slot the class lacks", (d) => { connections(d)[1]!.targetSlot = "inptu"; return d; }, "connections[1].targetSlot"],
    ["a param mapping is not a string", (d) => { connections(d)[0]!.paramMapping = { a: 1 }; return d; }, "connections[0].paramMapping.a"],
    ["a connection is duplicated", (d) => { connections(d).push({ ...connections(d)[1]! }); return d; }, "connections[2]"],
    ["an unknown field", (d) => ({ ...d, store: "sqlite" }), "store"],
    ["the document is null", () => null, ""],
  ])("reject a document where %s, naming the field", (_what, breakIt, path) => {
    const error = thrownBy(() => Flow.deserialize(breakIt(base()), registry()));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe(path);
    expect(error.message).toContain(path === "" ? "(document)" : `'${path}'`);
    expect(error.message).toContain("FlowDocument");
  });

  it("an unknown slot is named with the slots the class has", () => {
    const doc = base();
    connections(doc)[1]!.targetSlot = "inptu";
    expect(thrownBy(() => Flow.deserialize(doc, registry())).message).toContain("Did you mean 'input'?");
  });
});

describe("RoutineRegistry", () => {
  it("registers, finds and names routine classes", () => {
    const r = new RoutineRegistry();
    r.register("Source", Source);
    r.register("Source", Source); // again: nothing changes
    r.register("source.alias", Source);
    expect(r.get("Source")).toBe(Source);
    expect(r.get("source.alias")).toBe(Source);
    expect(r.has("Sink")).toBe(false);
    expect(r.get("Sink")).toBeUndefined();
    expect(r.names()).toEqual(["Source", "source.alias"]);
    expect(r.nameOf(Source)).toBe("Source");
    expect(r.nameOf(Sink)).toBeUndefined();
  });

  it("refuses a name taken by another class, naming both", () => {
    const r = new RoutineRegistry();
    r.register("Thing", Source);
    const error = thrownBy(() => r.register("Thing", Sink));
    expect(error).toBeInstanceOf(RoutiluxError);
    expect(error.message).toContain("'Thing'");
    expect(error.message).toContain("Source");
    expect(error.message).toContain("Sink");
  });

  it("refuses what is not a Routine class, and empty names", () => {
    const r = new RoutineRegistry();
    expect(thrownBy(() => r.register("Err", Error as unknown as new () => Routine)).message).toContain("does not extend Routine");
    expect(thrownBy(() => r.register("", Source)).message).toContain("non-empty");
    expect(thrownBy(() => r.register("x", undefined as unknown as new () => Routine)).message).toContain("undefined");
  });

  it("knows the standard error classes and registers others", () => {
    const r = new RoutineRegistry();
    expect(r.getError("TypeError")).toBe(TypeError);
    expect(r.getError("SerializationError")).toBe(SerializationError);
    expect(r.errorNameOf(RangeError)).toBe("RangeError");
    r.registerError("QuotaError", QuotaError);
    expect(r.getError("QuotaError")).toBe(QuotaError);
    expect(thrownBy(() => r.registerError("QuotaError", TypeError)).message).toContain("already registered");
  });
});
