// Slot merge strategies: override, append and custom functions, with buffers kept per job.
import { describe, expect, it } from "vitest";
import { Flow, JobState, type MergeStrategy } from "../../src/index.js";
import { routine, sleep } from "../fixtures/testing.js";

/**
 * `src` emits each of its entry params' `values` as `{ v, ... }` to `acc.input`, which merges
 * with `strategy` and records the merged data it is called with.
 */
function mergeFlow(strategy: MergeStrategy, options: ConstructorParameters<typeof Flow>[0] = {}) {
  const calls: Array<{ job: string; data: Record<string, unknown> }> = [];
  const flow = new Flow(options);
  flow.addRoutine(routine({
    trigger: (data, _ctx, self) => {
      for (const item of data.items as Array<Record<string, unknown>>) {
        self.emit("item", item);
      }
    },
  }, ["item"]), "src");
  flow.addRoutine(routine({
    input: {
      mergeStrategy: strategy,
      handler: (data, ctx) => {
        calls.push({ job: ctx.jobState.jobId, data });
      },
    },
  }), "acc");
  flow.connect("src", "item", "acc", "input");
  return { flow, calls };
}

async function runItems(flow: Flow, items: Array<Record<string, unknown>>): Promise<JobState> {
  const job = flow.execute("src", { entryParams: { items } });
  expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
  expect(job.status).toBe("completed");
  return job;
}

describe("merge strategies", () => {
  it("override (the default) passes each activation only its incoming data", async () => {
    const { flow, calls } = mergeFlow("override");
    await runItems(flow, [{ v: 1, w: "a" }, { v: 2 }]);

    expect(calls.map((c) => c.data)).toEqual([{ v: 1, w: "a" }, { v: 2 }]);
  });

  it("a slot defined without a strategy overrides", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const flow = new Flow();
    flow.addRoutine(routine({ trigger: (_d, _c, self) => { self.emit("item", { v: 1 }); self.emit("item", { w: 2 }); } }, ["item"]), "src");
    flow.addRoutine(routine({ input: (data) => void seen.push(data) }), "acc");
    flow.connect("src", "item", "acc", "input");
    await runItems(flow, []);

    expect(seen).toEqual([{ v: 1 }, { w: 2 }]);
  });

  it("append keeps, per key, the list of every value received so far in the job", async () => {
    const { flow, calls } = mergeFlow("append");
    await runItems(flow, [{ v: 1 }, { v: 2, w: "x" }, { v: 3 }]);

    expect(calls.map((c) => c.data)).toEqual([
      { v: [1] },
      { v: [1, 2], w: ["x"] },
      { v: [1, 2, 3], w: ["x"] },
    ]);
  });

  it("append keeps list values as single entries", async () => {
    const { flow, calls } = mergeFlow("append");
    await runItems(flow, [{ v: [1, 2] }, { v: [3] }]);

    expect(calls.at(-1)?.data).toEqual({ v: [[1, 2], [3]] });
  });

  it("a custom function gets the previous merged data and the incoming data", async () => {
    const seenPrevious: Array<Record<string, unknown>> = [];
    const sum: MergeStrategy = (previous, incoming) => {
      seenPrevious.push(previous);
      return { total: ((previous.total as number | undefined) ?? 0) + (incoming.v as number), last: incoming.v };
    };
    const { flow, calls } = mergeFlow(sum);
    await runItems(flow, [{ v: 1 }, { v: 10 }, { v: 100 }]);

    expect(seenPrevious).toEqual([{}, { total: 1, last: 1 }, { total: 11, last: 10 }]);
    expect(calls.map((c) => c.data)).toEqual([{ total: 1, last: 1 }, { total: 11, last: 10 }, { total: 111, last: 100 }]);
  });

  it("each new job starts with an empty buffer", async () => {
    const { flow, calls } = mergeFlow("append");
    await runItems(flow, [{ v: 1 }, { v: 2 }]);
    await runItems(flow, [{ v: 3 }]);

    expect(calls.map((c) => c.data)).toEqual([{ v: [1] }, { v: [1, 2] }, { v: [3] }]);
  });

  it("two concurrent jobs never see each other's buffers", async () => {
    const calls: Array<{ tag: string; data: Record<string, unknown> }> = [];
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 4 });
    flow.addRoutine(routine({
      trigger: async (data, _ctx, self) => {
        // Each job emits from its own chain of tasks, so the two jobs' activations interleave.
        self.emit("item", { v: `${String(data.tag)}0` });
        await sleep(1);
      },
      again: async (data, _ctx, self) => {
        await sleep(1);
        self.emit("item", { v: data.v });
      },
    }, ["item"]), "src");
    flow.addRoutine(routine({
      input: {
        mergeStrategy: "append",
        handler: async (data, ctx, self) => {
          const tag = String(ctx.jobState.metadata.tag);
          calls.push({ tag, data });
          const received = data.v as string[];
          await sleep(1);
          if (received.length < 4) self.emit("more", { v: `${tag}${received.length}` });
        },
      },
    }, ["more"]), "acc");
    flow.connect("src", "item", "acc", "input");
    flow.connect("acc", "more", "src", "again");
    const a = flow.execute("src", { entryParams: { tag: "a" }, metadata: { tag: "a" } });
    const b = flow.execute("src", { entryParams: { tag: "b" }, metadata: { tag: "b" } });
    await Promise.all([JobState.waitForCompletion(flow, a), JobState.waitForCompletion(flow, b)]);

    expect([a.status, b.status]).toEqual(["completed", "completed"]);
    const of = (tag: string) => calls.filter((c) => c.tag === tag).map((c) => c.data);
    expect(of("a")).toEqual([{ v: ["a0"] }, { v: ["a0", "a1"] }, { v: ["a0", "a1", "a2"] }, { v: ["a0", "a1", "a2", "a3"] }]);
    expect(of("b")).toEqual([{ v: ["b0"] }, { v: ["b0", "b1"] }, { v: ["b0", "b1", "b2"] }, { v: ["b0", "b1", "b2", "b3"] }]);
    // The activations did interleave: b's first call came before a's last.
    const tags = calls.map((c) => c.tag);
    expect(tags.indexOf("b")).toBeLessThan(tags.lastIndexOf("a"));
  });

  it("the buffer lives in the JobState: the job's document holds it", async () => {
    const { flow } = mergeFlow("append");
    const job = await runItems(flow, [{ v: 1 }, { v: 2 }]);

    const doc = JSON.parse(JSON.stringify(job.serialize())) as { slotBuffers: unknown };
    expect(doc.slotBuffers).toEqual([{ routineId: "acc", slotName: "input", data: { v: [1, 2] } }]);
  });
});
