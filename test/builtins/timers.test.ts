// Delay, Debouncer and Batcher: their timers run on the flow's clock (a SimulatedClock here),
// hold no worker, keep per-job state in the job, and survive a pause, a document round trip and
// a restart from a store.
import { afterEach, describe, expect, it } from "vitest";
import { Flow, JobState, MemoryJobStore, SimulatedClock, type FlowOptions, type Payload } from "../../src/index.js";
import { feedRegistry, steps } from "./feed.js";
import { closeAll, emitted, track, trackStore } from "./helpers.js";

afterEach(closeAll);

const T0 = Date.UTC(2025, 0, 1);

/** feed.out -> b.input, b being a built-in of class `cls` with `config`. */
function pipeline(cls: string, config: Record<string, unknown>, options: FlowOptions & { flowId?: string } = {}): Flow {
  const { flowId = `${cls.toLowerCase()}-flow`, ...runtime } = options;
  return track(Flow.fromSpec({
    flowId,
    executionStrategy: "concurrent",
    maxWorkers: 4,
    routines: { feed: { class: "Feed" }, b: { class: cls, config } },
    connections: [{ from: "feed.out", to: "b.input" }],
  }, feedRegistry(), runtime));
}

/** When (ms after T0) and with what `b` emitted `event`. */
function timeline(job: JobState, event: string): Array<[number, Payload]> {
  return job.executionHistory.filter((r) => r.routineId === "b" && r.eventName === event).map((r) => [r.timestamp.getTime() - T0, r.data]);
}

const value = (v: unknown): Payload => ({ value: v });

describe("Delay", () => {
  it("emits each message delayMs after it arrived, in order", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Delay", { delayMs: 1000 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, "a"], [300, "b"]) });
    await clock.advance(999);
    expect(timeline(job, "output")).toEqual([]);
    await clock.advance(1);
    expect(timeline(job, "output")).toEqual([[1000, value("a")]]);
    await clock.advance(300);
    expect(timeline(job, "output")).toEqual([[1000, value("a")], [1300, value("b")]]);
    expect(job.status).toBe("completed");
  });

  it("holds no worker while it waits: with one worker, another job runs meanwhile", async () => {
    const clock = new SimulatedClock(T0);
    const flow = track(Flow.fromSpec({
      flowId: "one-worker",
      routines: { feed: { class: "Feed" }, b: { class: "Delay", config: { delayMs: 60_000 } } },
      connections: [{ from: "feed.out", to: "b.input" }],
    }, feedRegistry(), { clock }));
    expect(flow.maxWorkers).toBe(1);
    const waiting = flow.execute("feed", { entryParams: steps([0, "slow"]) });
    await clock.advance(10);
    const quick = flow.execute("b", { entryParams: { n: 1 } });
    await clock.advance(0);
    expect(waiting.status).toBe("running");
    expect(quick.status).toBe("running"); // its own delay is still to come
    await clock.advance(60_000);
    expect(timeline(waiting, "output")).toEqual([[60_000, value("slow")]]);
    expect(timeline(quick, "output")).toEqual([[60_010, { n: 1 }]]);
  });

  it("survives a pause and a document round trip onto a rebuilt flow", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Delay", { delayMs: 1000 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, "a"]) });
    await clock.advance(500);
    await flow.pause(job);
    const text = JSON.stringify(job.serialize());
    await clock.advance(5000);
    expect(timeline(job, "output")).toEqual([]);
    const rebuilt = pipeline("Delay", { delayMs: 1000 }, { clock });
    const copy = JobState.fromDocument(JSON.parse(text));
    rebuilt.resume(copy);
    await clock.advance(0);
    // Its time passed while it was paused: it delivers at once.
    expect(timeline(copy, "output")).toEqual([[5500, value("a")]]);
    expect(copy.status).toBe("completed");
  });

  it("survives a restart from a store while it holds a message", async () => {
    const clock = new SimulatedClock(T0);
    const store = trackStore(new MemoryJobStore());
    const first = pipeline("Delay", { delayMs: 1000 }, { clock, store });
    const job = await first.start("feed", { entryParams: steps([0, "kept"]) });
    await clock.advance(400);
    await first.shutdown();
    const second = pipeline("Delay", { delayMs: 1000 }, { clock, store });
    const [again] = await second.recover();
    expect(again?.jobId).toBe(job.jobId);
    await clock.advance(599);
    expect(timeline(again!, "output")).toEqual([]);
    await clock.advance(1);
    expect(timeline(again!, "output")).toEqual([[1000, value("kept")]]);
    await expect.poll(async () => (await store.loadJob(job.jobId))?.status).toBe("completed");
  });

  it("refuses data wired to its timer slot", async () => {
    const clock = new SimulatedClock(T0);
    const flow = track(Flow.fromSpec({
      flowId: "forged",
      routines: { feed: { class: "Feed" }, b: { class: "Delay", config: { delayMs: 10 } } },
      connections: [{ from: "feed.out", to: "b.timer" }],
    }, feedRegistry(), { clock }));
    const job = flow.execute("feed", { entryParams: steps([0, "x"]) });
    await clock.advance(10);
    expect(job.status).toBe("failed");
    expect(String(job.executionHistory.find((r) => r.eventName === "error")?.data.error))
      .toBe("Slot 'timer' of Delay 'b' takes only the routine's own delayed deliveries; it got data from 'feed.out'. Connect to its 'input' slot instead");
  });
});

describe("Debouncer", () => {
  it("emits the last message of a burst once waitMs passed without another", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Debouncer", { waitMs: 300 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, 1], [100, 2], [250, 3], [1000, 4]) });
    await clock.advance(549);
    expect(timeline(job, "output")).toEqual([]);
    await clock.advance(1);
    expect(timeline(job, "output")).toEqual([[550, value(3)]]);
    await clock.advance(1000);
    expect(timeline(job, "output")).toEqual([[550, value(3)], [1300, value(4)]]);
    expect(job.status).toBe("completed");
    expect(job.getRoutineState("b")).toMatchObject({ debouncer: { gen: 3 } });
  });

  it("with leading, emits the first message at once; with maxWaitMs, cuts a long burst", async () => {
    const clock = new SimulatedClock(T0);
    const leading = pipeline("Debouncer", { waitMs: 100, leading: true }, { clock, flowId: "leading" });
    const a = leading.execute("feed", { entryParams: steps([0, 1], [50, 2], [90, 3]) });
    await clock.advance(1000);
    expect(timeline(a, "output")).toEqual([[0, value(1)], [190, value(3)]]);
    const capped = pipeline("Debouncer", { waitMs: 100, maxWaitMs: 250 }, { clock, flowId: "capped" });
    const start = clock.now() - T0;
    const b = capped.execute("feed", { entryParams: steps([0, 1], [80, 2], [160, 3], [240, 4], [320, 5]) });
    await clock.advance(1000);
    expect(timeline(b, "output").map(([at, data]) => [at - start, data])).toEqual([[250, value(4)], [420, value(5)]]);
  });

  it("keeps two jobs' bursts apart", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Debouncer", { waitMs: 100 }, { clock });
    const a = flow.execute("feed", { entryParams: steps([0, "a1"], [50, "a2"]) });
    const b = flow.execute("feed", { entryParams: steps([25, "b1"], [75, "b2"], [120, "b3"]) });
    await clock.advance(1000);
    expect(timeline(a, "output")).toEqual([[150, value("a2")]]);
    expect(timeline(b, "output")).toEqual([[220, value("b3")]]);
  });

  it("survives a pause and a document round trip in the middle of a burst", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Debouncer", { waitMs: 300 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, 1], [100, 2], [700, 3]) });
    await clock.advance(200);
    await flow.pause(job);
    const copy = JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
    expect(copy.getRoutineState("b")).toMatchObject({ debouncer: { pending: value(2), burstAt: T0, lastAt: T0 + 100 } });
    const rebuilt = pipeline("Debouncer", { waitMs: 300 }, { clock });
    rebuilt.resume(copy);
    await clock.advance(2000);
    expect(timeline(copy, "output")).toEqual([[400, value(2)], [1000, value(3)]]);
    expect(copy.status).toBe("completed");
  });

  it("survives a restart from a store in the middle of a burst", async () => {
    const clock = new SimulatedClock(T0);
    const store = trackStore(new MemoryJobStore());
    const first = pipeline("Debouncer", { waitMs: 300 }, { clock, store });
    const job = await first.start("feed", { entryParams: steps([0, 1], [100, 2]) });
    await clock.advance(150);
    expect(job.getRoutineState("b")).toMatchObject({ debouncer: { pending: value(2) } });
    await first.shutdown();
    const second = pipeline("Debouncer", { waitMs: 300 }, { clock, store });
    const [again] = await second.recover();
    expect(again?.jobId).toBe(job.jobId);
    await clock.advance(1000);
    expect(timeline(again!, "output")).toEqual([[400, value(2)]]);
    expect(again!.status).toBe("completed");
    expect((await store.loadJob(job.jobId))?.status).toBe("completed");
  });

  it("refuses a configuration that never emits", () => {
    expect(() => pipeline("Debouncer", { leading: false, trailing: false })).toThrow(/would never emit/);
  });
});

describe("Batcher", () => {
  it("emits a batch when it is full, and a partial one flushAfterMs after its first message", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Batcher", { batchSize: 3, flushAfterMs: 500 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, 1], [10, 2], [20, 3], [30, 4]) });
    await clock.advance(20);
    expect(timeline(job, "batch")).toEqual([[20, { items: [value(1), value(2), value(3)], count: 3, batchNumber: 1, reason: "size" }]]);
    // The full batch withdrew its own flush timer: only the next batch's is pending.
    await clock.advance(10);
    expect(job.pendingTasks.map((t) => t.notBefore! - T0)).toEqual([530]);
    await clock.advance(499);
    expect(timeline(job, "batch")).toHaveLength(1);
    await clock.advance(1);
    expect(timeline(job, "batch")[1]).toEqual([530, { items: [value(4)], count: 1, batchNumber: 2, reason: "timeout" }]);
    expect(job.status).toBe("completed");
  });

  it("flushes on its flush slot; without flushAfterMs an incomplete batch stays in the routine state", async () => {
    const clock = new SimulatedClock(T0);
    const flow = track(Flow.fromSpec({
      flowId: "flush",
      routines: {
        feed: { class: "Feed" },
        split: { class: "Filter", config: { condition: "data.value != 'flush'" } },
        b: { class: "Batcher", config: { batchSize: 10 } },
      },
      connections: [{ from: "feed.out", to: "split.input" }, { from: "split.passed", to: "b.input" }, { from: "split.rejected", to: "b.flush" }],
    }, feedRegistry(), { clock }));
    const job = flow.execute("feed", { entryParams: steps([0, 1], [5, 2], [10, "flush"], [20, 3]) });
    await clock.advance(30);
    expect(job.status).toBe("completed");
    expect(timeline(job, "batch")).toEqual([[10, { items: [value(1), value(2)], count: 2, batchNumber: 1, reason: "flush" }]]);
    expect(job.getRoutineState("b")).toMatchObject({ batcher: { batches: 1, items: [value(3)] } });
  });

  it("keeps two concurrent jobs' items apart", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Batcher", { batchSize: 2 }, { clock });
    const a = flow.execute("feed", { entryParams: steps([0, "a1"], [20, "a2"]) });
    const b = flow.execute("feed", { entryParams: steps([10, "b1"], [30, "b2"]) });
    await clock.advance(100);
    expect(emitted(a, "b", "batch")).toEqual([{ items: [value("a1"), value("a2")], count: 2, batchNumber: 1, reason: "size" }]);
    expect(emitted(b, "b", "batch")).toEqual([{ items: [value("b1"), value("b2")], count: 2, batchNumber: 1, reason: "size" }]);
  });

  it("survives a pause and a document round trip with a batch half full and its timer pending", async () => {
    const clock = new SimulatedClock(T0);
    const flow = pipeline("Batcher", { batchSize: 3, flushAfterMs: 500 }, { clock });
    const job = flow.execute("feed", { entryParams: steps([0, 1], [100, 2]) });
    await clock.advance(200);
    await flow.pause(job);
    const doc = JSON.parse(JSON.stringify(job.serialize())) as unknown;
    const copy = JobState.fromDocument(doc);
    expect(copy.getRoutineState("b")).toMatchObject({ batcher: { batches: 0, items: [value(1), value(2)] } });
    const rebuilt = pipeline("Batcher", { batchSize: 3, flushAfterMs: 500 }, { clock });
    rebuilt.resume(copy);
    await clock.advance(299);
    expect(emitted(copy, "b", "batch")).toEqual([]);
    await clock.advance(1);
    expect(timeline(copy, "batch")).toEqual([[500, { items: [value(1), value(2)], count: 2, batchNumber: 1, reason: "timeout" }]]);
    expect(copy.status).toBe("completed");
  });

  it("survives a restart from a store: the stored job resumes elsewhere with its batch", async () => {
    const clock = new SimulatedClock(T0);
    const store = trackStore(new MemoryJobStore());
    const first = pipeline("Batcher", { batchSize: 2, flushAfterMs: 1000 }, { clock, store });
    const job = await first.start("feed", { entryParams: steps([0, "x"], [2000, "y"], [2100, "z"]) });
    await clock.advance(100);
    await first.pause(job);
    await first.shutdown();
    const stored = (await store.loadJob(job.jobId))!;
    expect(stored.getRoutineState("b")).toMatchObject({ batcher: { items: [value("x")] } });
    const second = pipeline("Batcher", { batchSize: 2, flushAfterMs: 1000 }, { clock, store });
    second.resume(stored);
    await clock.advance(3000);
    expect(timeline(stored, "batch")).toEqual([
      [1000, { items: [value("x")], count: 1, batchNumber: 1, reason: "timeout" }],
      [2100, { items: [value("y"), value("z")], count: 2, batchNumber: 2, reason: "size" }],
    ]);
    expect(stored.status).toBe("completed");
  });
});
