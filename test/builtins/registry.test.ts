// The built-ins in defaultRegistry: every one is rebuilt from a flow document and a flow file with
// its config, and a bad config in a document or file names the routine (and, in a file, the line).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as routilux from "../../src/index.js";
import { Flow, FlowDefinitionError, RoutineRegistry, defaultRegistry, loadFlowFile, registerBuiltins, type Routine } from "../../src/index.js";
import { rejectionOf, thrownBy } from "../fixtures/testing.js";
import { closeAll, track } from "./helpers.js";

afterEach(closeAll);

/** Every built-in with a config that uses its options. */
const CONFIGS: Record<string, Record<string, unknown>> = {
  TextClipper: { maxLength: 80, preserveTracebacks: false, truncationMessage: "[+{remaining}]" },
  TextRenderer: { tagFormat: "markdown", indent: "\t", includeTypeHints: true },
  ResultExtractor: { strategy: "all", extractorPriority: ["yaml_code_block"], extractYamlBlocks: true },
  DataTransformer: { transformations: ["strip", "to_int"], fields: ["n"] },
  DataValidator: { rules: { n: ["is_int", "is_positive"], s: { condition: "size(value) < 10" } }, requiredFields: ["n"], strictMode: true },
  DataFlattener: { separator: "/", preserveLists: false, maxDepth: 5 },
  ConditionalRouter: { routes: [{ event: "big", when: "data.n > config.limit" }, { event: "vip", match: { tier: "gold" } }], defaultRoute: "small", limit: 3 },
  TimeProvider: { format: "custom", customFormat: "%H:%M", timeZone: "Europe/Paris", locale: "fr-FR" },
  Aggregator: { sources: ["a", "b"], timeoutMs: 5000 },
  Batcher: { batchSize: 10, flushAfterMs: 250 },
  Debouncer: { waitMs: 50, leading: true, maxWaitMs: 500 },
  Splitter: { field: "payload.rows" },
  Filter: { condition: "data.ok == true" },
  Mapper: { mapping: { sum: "data.a + data.b" } },
  Delay: { delayMs: 1500 },
  HumanInput: { prompt: "OK?", schema: { type: "object", properties: { ok: { type: "boolean" } } } },
};

describe("the built-ins in defaultRegistry", () => {
  it("registers all sixteen under their class names, and exports each from the root", () => {
    for (const name of Object.keys(CONFIGS)) {
      const ctor = (routilux as unknown as Record<string, unknown>)[name];
      expect(typeof ctor, name).toBe("function");
      expect(defaultRegistry.get(name), name).toBe(ctor);
    }
    const own = new RoutineRegistry();
    registerBuiltins(own);
    expect(own.names().sort()).toEqual(Object.keys(CONFIGS).sort());
  });

  it("every one survives flow.serialize -> JSON -> Flow.deserialize and toSpec -> fromSpec with its config, slots and events", () => {
    const flow = track(new Flow({ flowId: "all" }));
    for (const [name, config] of Object.entries(CONFIGS)) {
      const routine = new (defaultRegistry.get(name)!)();
      routine.setConfig(config);
      flow.addRoutine(routine, name.toLowerCase());
    }
    const doc = JSON.parse(JSON.stringify(flow.serialize())) as unknown;
    const rebuilt = track(Flow.deserialize(doc));
    const fromSpec = track(Flow.fromSpec(flow.toSpec()));
    for (const copy of [rebuilt, fromSpec]) {
      for (const [id, original] of flow.routines) {
        const routine: Routine = copy.getRoutine(id)!;
        expect(routine.constructor).toBe(original.constructor);
        expect(routine.config).toEqual(original.config);
        expect([...routine.slots.keys()]).toEqual([...original.slots.keys()]);
        expect([...routine.events.keys()]).toEqual([...original.events.keys()]);
      }
    }
    expect(flow.toSpec().routines.conditionalrouter).toEqual({ class: "ConditionalRouter", config: CONFIGS.ConditionalRouter });
    // Defaults are not written: a routine configured with nothing has no config in its spec.
    const bare = track(new Flow({ flowId: "bare" }));
    bare.addRoutine(new routilux.Batcher(), "b");
    expect(bare.toSpec().routines.b).toEqual({ class: "Batcher" });
  });

  it("a flow document with a bad config names the routine id", () => {
    const flow = track(new Flow({ flowId: "doc" }));
    flow.addRoutine(new routilux.Filter(), "gate");
    const doc = flow.serialize();
    doc.routines[0]!.config = { condition: "data.a.__proto__" };
    const error = thrownBy(() => Flow.deserialize(doc));
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect(error.message).toBe(
      "Routine 'gate' (Filter): Invalid expression \"data.a.__proto__\" in Filter config condition at 7: property name '__proto__' is not allowed",
    );
  });

  it("a flow file with a bad config names the file, the line, the routine and the key", async () => {
    const folder = mkdtempSync(join(tmpdir(), "routilux-builtins-"));
    try {
      const path = join(folder, "bad.yaml");
      writeFileSync(path, "flowId: bad\nroutines:\n  wait:\n    class: Delay\n    config: { delayMs: -1 }\n");
      const error = await rejectionOf(loadFlowFile(path));
      expect(error).toBeInstanceOf(FlowDefinitionError);
      expect(error.message).toBe(`${path}:5:13: routines.wait.config: Routine 'wait' (Delay): Expected \`delayMs\` of Delay to be a number from 0 and up, got \`-1\` (number)`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("a config that JSON cannot hold is refused", () => {
    expect(() => new routilux.Filter().setConfig({ condition: "true", since: new Date() })).toThrow(
      /^The config of Filter must be plain JSON \(flow files hold it\); at 'since' it has an instance of Date/,
    );
    expect(() => new routilux.Filter().setConfig({ condition: "true", check: () => true })).toThrow(/at 'check' it has a function/);
  });
});
