// Aggregator: a join per job and per round, by count or by source, with a timeout that emits a
// partial round; its state survives a pause, a document round trip and a restart from a store.
import { afterEach, describe, expect, it } from "vitest";
import { Aggregator, Flow, FlowDefinitionError, JobState, MemoryJobStore, SimulatedClock, type FlowOptions, type Payload } from "../../src/index.js";
import { thrownBy } from "../fixtures/testing.js";
import { feedRegistry, steps } from "./feed.js";
import { closeAll, emitted, track, trackStore } from "./helpers.js";

afterEach(closeAll);

const T0 = Date.UTC(2025, 0, 1);
const value = (v: unknown): Payload => ({ value: v });

/** feed -> join by count. */
function counting(config: Record<string, unknown>, options: FlowOptions = {}): Flow {
  return track(Flow.fromSpec({
    flowId: "count-join",
    executionStrategy: "concurrent",
    routines: { feed: { class: "Feed" }, join: { class: "Aggregator", config } },
    connections: [{ from: "feed.out", to: "join.input" }],
  }, feedRegistry(), options));
}

/** feed -> fa, fb, fc (Filters by first letter) -> join by source. */
function bySource(config: Record<string, unknown>, options: FlowOptions = {}): Flow {
  const filter = (letter: string) => ({ class: "Filter", config: { condition: `data.value.startsWith('${letter}')` } });
  return track(Flow.fromSpec({
    flowId: "source-join",
    executionStrategy: "concurrent",
    maxWorkers: 4,
    routines: { feed: { class: "Feed" }, fa: filter("a"), fb: filter("b"), fc: filter("c"), other: filter("x"), join: { class: "Aggregator", config } },
    connections: [
      { from: "feed.out", to: "fa.input" }, { from: "feed.out", to: "fb.input" }, { from: "feed.out", to: "fc.input" },
      { from: "feed.out", to: "other.input" },
      { from: "fa.passed", to: "join.input" }, { from: "fb.passed", to: "join.input" }, { from: "fc.passed", to: "join.input" },
      { from: "other.passed", to: "join.input" },
    ],
  }, feedRegistry(), options));
}

function rounds(job: JobState): Array<[number, Payload]> {
  return job.executionHistory.filter((r) => r.routineId === "join" && r.eventName === "aggregated").map((r) => [r.timestamp.getTime() - T0, r.data]);
}

describe("Aggregator by count", () => {
  it("emits every expectedCount messages, in arrival order, once per round", async () => {
    const clock = new SimulatedClock(T0);
    const flow = counting({ expectedCount: 2 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, 1], [10, 2], [20, 3], [30, 4], [40, 5]) });
    await clock.advance(100);
    expect(rounds(job)).toEqual([
      [10, { items: [value(1), value(2)], count: 2, partial: false }],
      [30, { items: [value(3), value(4)], count: 2, partial: false }],
    ]);
    expect(job.getRoutineState("join")).toMatchObject({ aggregator: { rounds: 2, items: [value(5)] } });
  });

  it("emits what it has, marked partial, timeoutMs after a round's first message", async () => {
    const clock = new SimulatedClock(T0);
    const flow = counting({ expectedCount: 3, timeoutMs: 100 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, 1], [50, 2], [150, 3], [160, 4], [170, 5]) });
    await clock.advance(99);
    expect(rounds(job)).toEqual([]);
    await clock.advance(1);
    expect(rounds(job)).toEqual([[100, { items: [value(1), value(2)], count: 2, partial: true }]]);
    await clock.advance(70);
    // The second round completed at 170, before its timeout (due at 250): the timeout is withdrawn and the job ends at once.
    expect(rounds(job)).toEqual([
      [100, { items: [value(1), value(2)], count: 2, partial: true }],
      [170, { items: [value(3), value(4), value(5)], count: 3, partial: false }],
    ]);
    expect(job.status).toBe("completed");
    expect(job.pendingTasks).toEqual([]);
  });

  it("keeps two concurrent jobs' rounds apart", async () => {
    const clock = new SimulatedClock(T0);
    const flow = counting({ expectedCount: 2 }, { clock });
    const a = flow.execute("feed", { entryParams: steps([0, "a1"], [20, "a2"]) });
    const b = flow.execute("feed", { entryParams: steps([10, "b1"], [30, "b2"]) });
    await clock.advance(100);
    expect(emitted(a, "join", "aggregated")).toEqual([{ items: [value("a1"), value("a2")], count: 2, partial: false }]);
    expect(emitted(b, "join", "aggregated")).toEqual([{ items: [value("b1"), value("b2")], count: 2, partial: false }]);
  });
});

describe("Aggregator by source", () => {
  it("emits one message from each source, in the order of `sources`, with bySource", async () => {
    const clock = new SimulatedClock(T0);
    const flow = bySource({ sources: ["fa", "fb", "fc"] }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, "c1"], [10, "a1"], [20, "b1"]) });
    await clock.advance(100);
    expect(rounds(job)).toEqual([[20, {
      items: [value("a1"), value("b1"), value("c1")],
      count: 3,
      partial: false,
      bySource: { fa: value("a1"), fb: value("b1"), fc: value("c1") },
      missing: [],
    }]]);
  });

  it("keeps a second message from one source for the next round", async () => {
    const clock = new SimulatedClock(T0);
    const flow = bySource({ sources: ["fa", "fb"] }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, "a1"], [10, "a2"], [20, "b1"], [30, "b2"]) });
    await clock.advance(100);
    expect(rounds(job).map(([at, r]) => [at, r.items])).toEqual([
      [20, [value("a1"), value("b1")]],
      [30, [value("a2"), value("b2")]],
    ]);
  });

  it("emits a partial round with the missing sources on timeout; the next round gets its own timeout", async () => {
    const clock = new SimulatedClock(T0);
    const flow = bySource({ sources: ["fa", "fb", "fc"], timeoutMs: 100 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, "a1"], [50, "b1"], [200, "c1"]) });
    await clock.advance(1000);
    expect(rounds(job)).toEqual([
      [100, { items: [value("a1"), value("b1")], count: 2, partial: true, bySource: { fa: value("a1"), fb: value("b1") }, missing: ["fc"] }],
      [300, { items: [value("c1")], count: 1, partial: true, bySource: { fc: value("c1") }, missing: ["fa", "fb"] }],
    ]);
    expect(job.status).toBe("completed");
  });

  it("fails on a message from a routine that is not one of its sources, naming it", async () => {
    const clock = new SimulatedClock(T0);
    const flow = bySource({ sources: ["fa", "fb"] }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, "x1"]) });
    await clock.advance(10);
    expect(job.status).toBe("failed");
    expect(String(job.executionHistory.find((r) => r.eventName === "error")?.data.error)).toBe(
      "Aggregator 'join' joins messages from 'fa', 'fb', and got one from 'other'; add it to `sources`, or connect it elsewhere",
    );
  });
});

describe("Aggregator state across a pause, documents and a store", () => {
  it("a half-full round and its timeout survive a pause and a document round trip", async () => {
    const clock = new SimulatedClock(T0);
    const flow = bySource({ sources: ["fa", "fb"], timeoutMs: 1000 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, "a1"], [500, "b1"]) });
    await clock.advance(100);
    await flow.pause(job);
    const copy = JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
    expect(copy.getRoutineState("join")).toMatchObject({ aggregator: { rounds: 0, queues: { fa: [value("a1")] } } });
    const rebuilt = bySource({ sources: ["fa", "fb"], timeoutMs: 1000 }, { clock });
    rebuilt.resume(copy);
    await clock.advance(2000);
    expect(rounds(copy)).toEqual([[500, expect.objectContaining({ items: [value("a1"), value("b1")], partial: false })]]);
    expect(copy.status).toBe("completed");
  });

  it("a round carries on after a restart from a store", async () => {
    const clock = new SimulatedClock(T0);
    const store = trackStore(new MemoryJobStore());
    const first = counting({ expectedCount: 3, timeoutMs: 1000 }, { clock, store });
    const job = await first.start("feed", { entryParams: steps([0, 1], [100, 2], [300, 3]) });
    await clock.advance(200);
    await first.shutdown();
    const second = counting({ expectedCount: 3, timeoutMs: 1000 }, { clock, store });
    const [again] = await second.recover();
    await clock.advance(2000);
    expect(rounds(again!)).toEqual([[300, { items: [value(1), value(2), value(3)], count: 3, partial: false }]]);
    expect((await store.loadJob(job.jobId))!.getRoutineState("join")).toMatchObject({ aggregator: { rounds: 1 } });
  });
});

describe("Aggregator config", () => {
  it("takes expectedCount or sources, not both, and checks them", () => {
    const agg = new Aggregator();
    expect(thrownBy(() => agg.setConfig({ expectedCount: 2, sources: ["a"] })).message).toMatch(/takes `expectedCount` or `sources`, not both/);
    expect(() => agg.setConfig({ expectedCount: 0 })).toThrow("Expected `expectedCount` of Aggregator to be an integer from 1 to 10,000, got `0` (number)");
    expect(() => agg.setConfig({ sources: ["a", "a"] })).toThrow(/a list of distinct routine ids/);
    expect(() => agg.setConfig({ timeoutMs: -5 })).toThrow(FlowDefinitionError);
    expect(agg.config).toEqual({});
  });

  it("fails an activation, saying why, when it has neither", async () => {
    const clock = new SimulatedClock(T0);
    const flow = counting({}, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, 1]) });
    await clock.advance(10);
    expect(String(job.executionHistory.find((r) => r.eventName === "error")?.data.error)).toMatch(/has neither `expectedCount` nor `sources`/);
  });
});
