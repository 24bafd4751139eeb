// A wrong flow definition is rejected when it is built, with a FlowDefinitionError that names
// what was wrong and lists what is valid.
import { describe, expect, it } from "vitest";
import { Flow, FlowDefinitionError, Routine, RoutiluxError } from "../../src/index.js";
import { routine, thrownBy } from "../fixtures/testing.js";

function definitionError(fn: () => unknown): string {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(FlowDefinitionError);
  expect(error).toBeInstanceOf(RoutiluxError);
  expect(error.name).toBe("FlowDefinitionError");
  return error.message;
}

/** src (events: output, progress) and sink (slots: input, control) in flow "defs". */
function twoRoutines(): Flow {
  const flow = new Flow({ flowId: "defs" });
  flow.addRoutine(routine({ trigger: () => {} }, ["output", "progress"]), "src");
  flow.addRoutine(routine({ input: () => {}, control: () => {} }), "sink");
  return flow;
}

describe("connect", () => {
  it("an unknown source routine id is named, with the flow's routine ids", () => {
    const flow = twoRoutines();
    const message = definitionError(() => flow.connect("scr", "output", "sink", "input"));

    expect(message).toContain("'scr'");
    expect(message).toContain("src, sink");
    expect(message).toContain("Did you mean 'src'?");
  });

  it("an unknown target routine id is named, with the flow's routine ids", () => {
    const flow = twoRoutines();
    const message = definitionError(() => flow.connect("src", "output", "nowhere", "input"));

    expect(message).toContain("'nowhere'");
    expect(message).toContain("src, sink");
  });

  it("an unknown event is named with its routine, and the routine's events are listed", () => {
    const flow = twoRoutines();
    const message = definitionError(() => flow.connect("src", "outptu", "sink", "input"));

    expect(message).toContain("'outptu'");
    expect(message).toContain("'src'");
    expect(message).toContain("output, progress");
    expect(message).toContain("Did you mean 'output'?");
  });

  it("an unknown slot is named with its routine, and the routine's slots are listed", () => {
    const flow = twoRoutines();
    const message = definitionError(() => flow.connect("src", "output", "sink", "inptu"));

    expect(message).toContain("'inptu'");
    expect(message).toContain("'sink'");
    expect(message).toContain("input, control");
    expect(message).toContain("Did you mean 'input'?");
  });

  it("connecting the same event to the same slot twice is refused, naming both ends", () => {
    const flow = twoRoutines();
    flow.connect("src", "output", "sink", "input");
    const message = definitionError(() => flow.connect("src", "output", "sink", "input", { a: "b" }));

    expect(message).toContain("src.output");
    expect(message).toContain("sink.input");
    expect(flow.connections).toHaveLength(1);
  });

  it("a bad paramMapping is refused, naming the connection and the mapping entry, and nothing is connected", () => {
    const flow = twoRoutines();
    const notAnObject = definitionError(() => flow.connect("src", "output", "sink", "input", ["a"] as unknown as Record<string, string>));
    const emptyTarget = definitionError(() => flow.connect("src", "output", "sink", "input", { a: "" }));

    expect(notAnObject).toContain("src.output->sink.input");
    expect(notAnObject).toContain('["a"]');
    expect(emptyTarget).toContain("src.output->sink.input");
    expect(emptyTarget).toContain("paramMapping['a']");
    expect(flow.connections).toHaveLength(0);
  });

  it("the same event may go to another slot, and another event to the same slot", () => {
    const flow = twoRoutines();
    flow.connect("src", "output", "sink", "input");
    flow.connect("src", "output", "sink", "control");
    flow.connect("src", "progress", "sink", "input");

    expect(flow.connections.map((c) => c.id)).toHaveLength(3);
  });

  it("a refused connect leaves the flow's connections as they were", () => {
    const flow = twoRoutines();
    flow.connect("src", "output", "sink", "input");
    for (const bad of [
      () => flow.connect("nope", "output", "sink", "input"),
      () => flow.connect("src", "nope", "sink", "input"),
      () => flow.connect("src", "output", "sink", "nope"),
      () => flow.connect("src", "output", "nope", "input"),
    ]) definitionError(bad);

    expect(flow.connections.map((c) => [c.sourceRoutineId, c.sourceEvent, c.targetRoutineId, c.targetSlot])).toEqual([
      ["src", "output", "sink", "input"],
    ]);
  });
});

describe("addRoutine", () => {
  it("a duplicate routine id is refused, naming the id and the flow", () => {
    const flow = twoRoutines();
    const message = definitionError(() => flow.addRoutine(new Routine(), "src"));

    expect(message).toContain("'src'");
    expect(message).toContain("'defs'");
    expect(flow.routines.size).toBe(2);
  });

  it("a routine added without an id is added under its own id", () => {
    const flow = new Flow();
    const r = new Routine();

    expect(flow.addRoutine(r)).toBe(r.id);
    expect(flow.getRoutine(r.id)).toBe(r);
  });
});

describe("routine definitions", () => {
  it("a slot name defined twice on a routine is refused", () => {
    const r = new Routine();
    r.defineSlot("input");
    const message = definitionError(() => r.defineSlot("input"));

    expect(message).toContain("'input'");
  });

  it("an event name defined twice on a routine is refused", () => {
    const r = new Routine();
    r.defineEvent("output");
    const message = definitionError(() => r.defineEvent("output"));

    expect(message).toContain("'output'");
  });
});

describe("execute", () => {
  it("an entry routine without a trigger slot is refused, listing its slots", () => {
    const flow = twoRoutines();
    const message = definitionError(() => flow.execute("sink"));

    expect(message).toContain("'sink'");
    expect(message).toContain("'trigger'");
    expect(message).toContain("input, control");
  });

  it("an unknown entry routine id is refused, listing the flow's routine ids", () => {
    const flow = twoRoutines();
    const message = definitionError(() => flow.execute("sorce"));

    expect(message).toContain("'sorce'");
    expect(message).toContain("src, sink");
  });
});

describe("flow options", () => {
  it("an unknown executionStrategy is refused, naming the option and the value", () => {
    const message = definitionError(() => new Flow({ executionStrategy: "parallel" as "concurrent" }));

    expect(message).toContain("executionStrategy");
    expect(message).toContain("parallel");
    expect(message).toContain("sequential");
    expect(message).toContain("concurrent");
  });

  it("setExecutionStrategy refuses an unknown strategy and keeps the flow as it was", () => {
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 3 });
    const message = definitionError(() => flow.setExecutionStrategy("threads" as "concurrent", 2));

    expect(message).toContain("threads");
    expect(flow.executionStrategy).toBe("concurrent");
    expect(flow.maxWorkers).toBe(3);
  });

  it.each([0, -1, 1.5, Number.NaN])("maxWorkers %s is refused, naming the option and the value", (value) => {
    const message = definitionError(() => new Flow({ executionStrategy: "concurrent", maxWorkers: value }));

    expect(message).toContain("maxWorkers");
    expect(message).toContain(String(value));
  });

  it("maxWorkers given as a string is refused", () => {
    const message = definitionError(() => new Flow({ executionStrategy: "concurrent", maxWorkers: "3" as unknown as number }));

    expect(message).toContain("maxWorkers");
    expect(message).toContain("3");
  });

  it("setExecutionStrategy refuses maxWorkers below 1", () => {
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 3 });
    const message = definitionError(() => flow.setExecutionStrategy("concurrent", 0));

    expect(message).toContain("maxWorkers");
    expect(message).toContain("0");
    expect(flow.maxWorkers).toBe(3);
  });
});
