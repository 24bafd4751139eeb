// Jobs of one flow are served fairly: a long job does not starve a short one started after it.
import { describe, expect, it } from "vitest";
import { Flow, JobState, type FlowOptions } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";

const LONG = 20_000;

interface Observation {
  sinkActivations: number;
  longPending: number;
  longStatus: string;
}

/**
 * `burst` emits LONG events to `sink`; `step1 -> step2` is the short job. When step2 (the short
 * job's last task) runs, it notes how far the long job has got.
 */
function fairnessFlow(options: FlowOptions, asyncHandlers: boolean): {
  flow: Flow;
  observations: Observation[];
  counts: { sink: number };
  setLong(job: JobState): void;
  burstDone: Promise<void>;
} {
  const flow = new Flow(options);
  const counts = { sink: 0 };
  const observations: Observation[] = [];
  let longJob: JobState | undefined;
  let burstRan!: () => void;
  const burstDone = new Promise<void>((resolve) => {
    burstRan = resolve;
  });
  flow.addRoutine(routine({
    trigger: (_data, _ctx, self) => {
      for (let i = 0; i < LONG; i++) self.emit("item", { i });
      burstRan();
    },
  }, ["item"]), "burst");
  flow.addRoutine(routine({
    input: asyncHandlers
      ? async () => {
        await Promise.resolve();
        counts.sink++;
      }
      : () => {
        counts.sink++;
      },
  }), "sink");
  flow.addRoutine(routine({ trigger: (_data, _ctx, self) => self.emit("next") }, ["next"]), "step1");
  flow.addRoutine(routine({
    input: () => {
      observations.push({ sinkActivations: counts.sink, longPending: longJob!.pendingTasks.length, longStatus: longJob!.status });
    },
  }), "step2");
  flow.connect("burst", "item", "sink", "input");
  flow.connect("step1", "next", "step2", "input");
  return { flow, observations, counts, setLong: (job) => (longJob = job), burstDone };
}

describe("fairness between jobs", () => {
  it("a 2-step job started after a 20,000-task job completes while the long one has thousands of tasks left", async () => {
    const { flow, observations, counts, setLong } = fairnessFlow({}, false);
    const long = flow.execute("burst");
    setLong(long);
    const short = flow.execute("step1");

    expect(await JobState.waitForCompletion(flow, short, { timeoutMs: 10_000 })).toBe(true);
    expect(short.status).toBe("completed");
    expect(observations).toHaveLength(1);
    const seen = observations[0]!;
    expect(seen.longStatus).toBe("running");
    expect(seen.longPending).toBeGreaterThan(10_000);
    expect(seen.sinkActivations).toBeLessThan(10_000);

    expect(await JobState.waitForCompletion(flow, long, { timeoutMs: 10_000 })).toBe(true);
    expect(long.status).toBe("completed");
    expect(counts.sink).toBe(LONG);
  });

  it("a short job started once the long job's 20,000 tasks are queued is not stuck behind them", async () => {
    const { flow, observations, counts, setLong, burstDone } = fairnessFlow(
      { executionStrategy: "concurrent", maxWorkers: 2 },
      true,
    );
    const long = flow.execute("burst");
    setLong(long);
    await burstDone;
    expect(long.pendingTasks.length).toBeGreaterThan(10_000);
    const short = flow.execute("step1");

    expect(await JobState.waitForCompletion(flow, short, { timeoutMs: 10_000 })).toBe(true);
    expect(short.status).toBe("completed");
    const seen = observations[0]!;
    expect(seen.longStatus).toBe("running");
    expect(seen.longPending).toBeGreaterThan(10_000);
    expect(seen.sinkActivations).toBeLessThan(10_000);

    expect(await JobState.waitForCompletion(flow, long, { timeoutMs: 10_000 })).toBe(true);
    expect(counts.sink).toBe(LONG);
  });
});
