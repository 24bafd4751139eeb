// Flow.fromSpec, flow.toSpec and loadFlowFile: a flow file builds the flow it describes, runs,
// and writes back to the same spec; errors name the file, the path and the line.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  Flow, FlowDefinitionError, FlowSpecError, Routine, RoutineRegistry, loadFlowFile, stringifyFlowSpec, type HandlerContext, type Payload,
} from "../../src/index.js";

class Double extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.run);
    this.defineSlot("input", this.run);
    this.defineEvent("out", ["n"]);
  }

  run(data: Payload, ctx: HandlerContext): void {
    const n = (data.n as number) * (this.getConfig<number>("factor", 2));
    ctx.shared.update<number[]>("seen", (seen = []) => [...seen, n]);
    if (n < 20) ctx.emit("out", { n });
  }
}

/** Checks its config when configured: `factor` must be a number; `explode` throws a plain TypeError. */
class Strict extends Double {
  override setConfig(values: Record<string, unknown>): void {
    if (values.explode === true) throw new TypeError("cannot explode");
    if ("factor" in values && typeof values.factor !== "number") throw new FlowDefinitionError("Expected `factor` to be a number");
    super.setConfig(values);
  }
}

const registry = new RoutineRegistry();
registry.register("Double", Double);
registry.register("Strict", Strict);

const YAML = `
flowId: doubling
routines:
  first: { class: Double }
  second: { class: Double, config: { factor: 3 } }
connections:
  - { from: first.out, to: second.input }
`;

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function fileWith(name: string, text: string): string {
  const folder = mkdtempSync(join(tmpdir(), "routilux-flows-"));
  folders.push(folder);
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

describe("flow files", () => {
  it("loadFlowFile builds the flow of a YAML file, which runs; toSpec writes the same spec back", async () => {
    const flow = await loadFlowFile(fileWith("doubling.yaml", YAML), registry);
    expect(flow.flowId).toBe("doubling");
    const result = await flow.run("first", { entryParams: { n: 1 } });
    expect(result).toMatchObject({ status: "completed", sharedData: { seen: [2, 6] } });
    const spec = flow.toSpec(registry);
    expect(spec).toEqual({
      flowId: "doubling",
      routines: { first: { class: "Double" }, second: { class: "Double", config: { factor: 3 } } },
      connections: [{ from: "first.out", to: "second.input" }],
    });
    const again = Flow.fromSpec(spec, registry);
    expect(again.serialize(registry)).toEqual(flow.serialize(registry));
    const json = await loadFlowFile(fileWith("doubling.json", stringifyFlowSpec(spec, "json")), registry);
    expect(json.serialize(registry)).toEqual(flow.serialize(registry));
  });

  it("a flow holding built-ins, written with a user registry, is read back with that same registry", async () => {
    const flow = Flow.fromSpec({
      flowId: "with-builtins",
      routines: { first: { class: "Double" }, wait: { class: "Delay", config: { delayMs: 1 } } },
      connections: [{ from: "first.out", to: "wait.input" }],
    }, registry);
    const doc = flow.serialize(registry);
    const again = Flow.deserialize(JSON.parse(JSON.stringify(doc)), registry);
    expect(again.serialize(registry)).toEqual(doc);
  });

  it("every routine that cannot be configured is named in one error, each with its line, with a bad connection of a sound routine", async () => {
    const path = fileWith("several.yaml", `
flowId: several
routines:
  first: { class: Strict, config: { factor: "two" } }
  second: { class: Double }
  third: { class: Strict, config: { factor: "three" } }
connections:
  - { from: second.out, to: first.input }
  - { from: second.nothing, to: second.input }
`);
    const error = await loadFlowFile(path, registry).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FlowSpecError);
    const issues = (error as FlowSpecError).issues.map((i) => `${i.line}:${i.path}`);
    expect(issues).toEqual(["4:routines.first.config", "6:routines.third.config", "9:connections[1].from"]);
  });

  it("an error names the file, the path and the line of each problem", async () => {
    const path = fileWith("bad.yaml", YAML.replace("class: Double, config", "class: Tripple, config").replace("second.input", "second.inptu"));
    const error = await loadFlowFile(path, registry).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FlowSpecError);
    const message = (error as Error).message;
    expect(message).toContain(`${path}:5:`);
    expect(message).toMatch(/routines\.second\.class/);
    expect(message).toMatch(/Tripple/);
  });

  it("a config a routine refuses when configured: a FlowDefinitionError naming the file, the line and the routine", async () => {
    const text = "flowId: strict\nroutines:\n  first: { class: Double }\n  second:\n    class: Strict\n    config: { factor: two }\n";
    const path = fileWith("strict.yaml", text);
    const error = await loadFlowFile(path, registry).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect((error as Error).message).toBe(`${path}:6:13: routines.second.config: Routine 'second' (Strict): Expected \`factor\` to be a number`);
    const spec = { flowId: "strict", routines: { second: { class: "Strict", config: { factor: "two" } } } };
    expect(() => Flow.fromSpec(spec, registry)).toThrow("routines.second.config: Routine 'second' (Strict): Expected `factor` to be a number");
    // Any other error from setConfig is a problem of the file, at the routine's config.
    const other = await loadFlowFile(fileWith("explode.yaml", text.replace("factor: two", "explode: true")), registry)
      .then(() => undefined, (e: unknown) => e);
    expect(other).toBeInstanceOf(FlowSpecError);
    expect((other as FlowSpecError).issues).toEqual([
      { path: "routines.second.config", line: 6, column: 13, message: "routine 'second' (Strict) refused its config: cannot explode" },
    ]);
  });

  it("a file may name built-ins next to the given registry's classes", async () => {
    const text = [
      "flowId: mixed",
      "routines:",
      "  first: { class: Double }",
      "  gate: { class: Filter, config: { condition: \"data.n > 3\" } }",
      "  second: { class: Double, config: { factor: 3 } }",
      "connections:",
      "  - { from: first.out, to: gate.input }",
      "  - { from: gate.passed, to: second.input }",
      "",
    ].join("\n");
    const flow = await loadFlowFile(fileWith("mixed.yaml", text), registry);
    expect(await flow.run("first", { entryParams: { n: 2 } })).toMatchObject({ status: "completed", sharedData: { seen: [4, 12] } });
    expect(await flow.run("first", { entryParams: { n: 1 } })).toMatchObject({ status: "completed", sharedData: { seen: [2] } });
  });
});
