// How emitted data travels: param mapping, fan-out, fan-in, and breadth-first order within a job.
import { describe, expect, it } from "vitest";
import { Flow, JobState } from "../../src/index.js";
import { routine, trace } from "../fixtures/testing.js";

/** A routine whose `input` slot records what it receives, as `[routineId, data]`. */
function recorder(received: Array<[string, Record<string, unknown>]>, events: string[] = []) {
  return routine({
    input: (data, ctx) => {
      received.push([ctx.routineId, data]);
    },
  }, events);
}

/** An entry that emits each of `emits` in order, as `[event, data]`. */
function emitter(emits: Array<[string, Record<string, unknown>]>) {
  return routine({
    trigger: (_data, _ctx, self) => {
      for (const [event, data] of emits) self.emit(event, data);
    },
  }, [...new Set(emits.map(([event]) => event))]);
}

async function run(flow: Flow, entry: string): Promise<JobState> {
  const job = flow.execute(entry);
  expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
  expect(job.status).toBe("completed");
  return job;
}

describe("param mapping", () => {
  it("{a: \"x\"} turns {a: 1, b: 2} into {x: 1, b: 2}", async () => {
    const received: Array<[string, Record<string, unknown>]> = [];
    const flow = new Flow();
    flow.addRoutine(emitter([["out", { a: 1, b: 2 }]]), "src");
    flow.addRoutine(recorder(received), "dst");
    flow.connect("src", "out", "dst", "input", { a: "x" });
    const job = await run(flow, "src");

    expect(received).toEqual([["dst", { x: 1, b: 2 }]]);
    // The history records what was emitted, before mapping.
    expect(job.getExecutionHistory("src").find((r) => r.eventName === "out")?.data).toEqual({ a: 1, b: 2 });
  });

  it("maps several names, and each connection of one event applies its own mapping", async () => {
    const received: Array<[string, Record<string, unknown>]> = [];
    const flow = new Flow();
    flow.addRoutine(emitter([["out", { a: 1, b: 2, c: 3 }]]), "src");
    flow.addRoutine(recorder(received), "one");
    flow.addRoutine(recorder(received), "two");
    flow.addRoutine(recorder(received), "three");
    flow.connect("src", "out", "one", "input", { a: "x", b: "y" });
    flow.connect("src", "out", "two", "input", { c: "a" });
    flow.connect("src", "out", "three", "input");
    await run(flow, "src");

    expect(received).toEqual([
      ["one", { x: 1, y: 2, c: 3 }],
      ["two", { a: 3, b: 2 }],
      ["three", { a: 1, b: 2, c: 3 }],
    ]);
  });

  it("the connection keeps its own copy of the mapping", async () => {
    const received: Array<[string, Record<string, unknown>]> = [];
    const flow = new Flow();
    flow.addRoutine(emitter([["out", { a: 1 }]]), "src");
    flow.addRoutine(recorder(received), "dst");
    const mapping: Record<string, string> = { a: "x" };
    flow.connect("src", "out", "dst", "input", mapping);
    mapping.a = "changed";
    await run(flow, "src");

    expect(received).toEqual([["dst", { x: 1 }]]);
  });
});

describe("fan-out and fan-in", () => {
  it("one event connected to several slots activates each of them once", async () => {
    const received: Array<[string, Record<string, unknown>]> = [];
    const flow = new Flow();
    flow.addRoutine(emitter([["out", { v: 1 }]]), "src");
    flow.addRoutine(recorder(received), "a");
    flow.addRoutine(recorder(received), "b");
    flow.addRoutine(recorder(received), "c");
    for (const id of ["a", "b", "c"]) flow.connect("src", "out", id, "input");
    const job = await run(flow, "src");

    expect(received).toEqual([["a", { v: 1 }], ["b", { v: 1 }], ["c", { v: 1 }]]);
    // One emit record, whatever the number of receivers.
    expect(job.getExecutionHistory("src").filter((r) => r.eventName === "out")).toHaveLength(1);
  });

  it("one event can reach two slots of the same routine", async () => {
    const seen: string[] = [];
    const flow = new Flow();
    flow.addRoutine(emitter([["out", { v: 1 }]]), "src");
    flow.addRoutine(routine({ left: () => void seen.push("left"), right: () => void seen.push("right") }), "dst");
    flow.connect("src", "out", "dst", "left");
    flow.connect("src", "out", "dst", "right");
    await run(flow, "src");

    expect(seen).toEqual(["left", "right"]);
  });

  it("several events from several routines flow into one slot, one activation each", async () => {
    const received: Array<[string, Record<string, unknown>]> = [];
    const flow = new Flow();
    flow.addRoutine(emitter([["left", { from: "src.left" }], ["right", { from: "src.right" }]]), "src");
    flow.addRoutine(routine({ input: (data, _ctx, self) => self.emit("out", { from: `relay/${String(data.from)}` }) }, ["out"]), "relay");
    flow.addRoutine(recorder(received), "sink");
    flow.connect("src", "left", "sink", "input");
    flow.connect("src", "right", "relay", "input");
    flow.connect("relay", "out", "sink", "input");
    flow.connect("src", "right", "sink", "input");
    await run(flow, "src");

    expect(received.map(([, data]) => data.from)).toEqual(["src.left", "src.right", "relay/src.right"]);
  });

  it("an event with no connection is recorded and goes nowhere", async () => {
    const flow = new Flow({ flowId: "f" });
    flow.addRoutine(emitter([["unwired", { v: 1 }]]), "src");
    const job = await run(flow, "src");

    expect(trace(job.executionHistory)).toEqual(["src -> start", "src -> unwired", "f -> completed"]);
  });
});

describe("order within a job", () => {
  function orderFlow(options: ConstructorParameters<typeof Flow>[0]): { flow: Flow; order: string[] } {
    const order: string[] = [];
    const flow = new Flow(options);
    const node = (events: string[]) => routine({
      trigger: (_d, ctx, self) => {
        order.push(ctx.routineId);
        for (const e of events) self.emit(e);
      },
      input: (_d, ctx, self) => {
        order.push(ctx.routineId);
        for (const e of events) self.emit(e);
      },
    }, events);
    flow.addRoutine(node(["out"]), "src");
    flow.addRoutine(node(["out"]), "a");
    flow.addRoutine(node([]), "b");
    flow.addRoutine(node([]), "c");
    flow.connect("src", "out", "a", "input");
    flow.connect("src", "out", "b", "input");
    flow.connect("a", "out", "c", "input");
    return { flow, order };
  }

  it("with one worker, src -> {a, b} and a -> c runs src, a, b, c (breadth first)", async () => {
    const { flow, order } = orderFlow({});
    await run(flow, "src");

    expect(order).toEqual(["src", "a", "b", "c"]);
  });

  it("breadth first holds with one concurrent worker too", async () => {
    const { flow, order } = orderFlow({ executionStrategy: "concurrent", maxWorkers: 1 });
    await run(flow, "src");

    expect(order).toEqual(["src", "a", "b", "c"]);
  });

  it("tasks run in the order their events were emitted", async () => {
    const received: Array<[string, Record<string, unknown>]> = [];
    const flow = new Flow();
    flow.addRoutine(emitter([["out", { n: 1 }], ["other", { n: 2 }], ["out", { n: 3 }]]), "src");
    flow.addRoutine(recorder(received), "x");
    flow.addRoutine(recorder(received), "y");
    flow.connect("src", "out", "x", "input");
    flow.connect("src", "other", "y", "input");
    await run(flow, "src");

    expect(received).toEqual([["x", { n: 1 }], ["y", { n: 2 }], ["x", { n: 3 }]]);
  });

  it("a handler's emits reach their slots only after the handler returns", async () => {
    const order: string[] = [];
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 4 });
    flow.addRoutine(routine({
      trigger: async (_d, _ctx, self) => {
        self.emit("out");
        order.push("emitted");
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push("returning");
      },
    }, ["out"]), "src");
    flow.addRoutine(routine({ input: () => void order.push("received") }), "dst");
    flow.connect("src", "out", "dst", "input");
    const job = await run(flow, "src");

    expect(order).toEqual(["emitted", "returning", "received"]);
    // ... while the emit is in the history at once, before anything dst did.
    expect(trace(job.executionHistory).slice(0, 2)).toEqual(["src -> start", "src -> out"]);
  });
});
