// maxWorkers is a true bound on handlers running at once across all jobs of a flow.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, JobState, type FlowOptions } from "../../src/index.js";
import { routine, sleep } from "../fixtures/testing.js";

const JOBS = 10;
const ITEMS_PER_JOB = 5;

/** Counts handlers running at once: every handler, entry included, awaits before it returns. */
class Gauge {
  current = 0;
  peak = 0;
  started = 0;

  async around(work: () => Promise<void>): Promise<void> {
    this.current++;
    this.started++;
    this.peak = Math.max(this.peak, this.current);
    try {
      await work();
    } finally {
      this.current--;
    }
  }
}

/** `fan` (entry) emits ITEMS_PER_JOB items to `work`; both await a short timer. */
function gaugedFlow(options: FlowOptions): { flow: Flow; gauge: Gauge } {
  const gauge = new Gauge();
  const flow = new Flow(options);
  flow.addRoutine(routine({
    trigger: (_data, _ctx, self) => gauge.around(async () => {
      await sleep(1);
      for (let i = 0; i < ITEMS_PER_JOB; i++) self.emit("item", { i });
    }),
  }, ["item"]), "fan");
  flow.addRoutine(routine({ input: () => gauge.around(() => sleep(1)) }), "work");
  flow.connect("fan", "item", "work", "input");
  return { flow, gauge };
}

async function runMany(flow: Flow, jobs = JOBS): Promise<JobState[]> {
  const started = Array.from({ length: jobs }, () => flow.execute("fan"));
  await Promise.all(started.map((job) => JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })));
  return started;
}

describe("maxWorkers", () => {
  it("bounds the handlers running at once across many jobs, and the bound is reached", async () => {
    const { flow, gauge } = gaugedFlow({ executionStrategy: "concurrent", maxWorkers: 3 });
    const jobs = await runMany(flow);

    expect(jobs.every((job) => job.status === "completed")).toBe(true);
    expect(gauge.started).toBe(JOBS * (1 + ITEMS_PER_JOB));
    expect(gauge.peak).toBe(3);
  });

  it("a concurrent flow runs up to 5 handlers at once by default", async () => {
    const { flow, gauge } = gaugedFlow({ executionStrategy: "concurrent" });
    await runMany(flow);

    expect(gauge.peak).toBe(5);
  });

  it("a sequential flow runs one handler at a time across all its jobs", async () => {
    const { flow, gauge } = gaugedFlow({});
    const jobs = await runMany(flow);

    expect(jobs.every((job) => job.status === "completed")).toBe(true);
    expect(gauge.peak).toBe(1);
  });

  it("a sequential flow runs one handler at a time even when maxWorkers is larger", async () => {
    // "sequential" runs one handler at a time (the ExecutionStrategy doc; the Python seed forces 1 worker).
    const { flow, gauge } = gaugedFlow({ executionStrategy: "sequential", maxWorkers: 4 });
    await runMany(flow);

    expect(gauge.peak).toBe(1);
  });

  it("setExecutionStrategy(\"sequential\", n) runs one handler at a time", async () => {
    const { flow, gauge } = gaugedFlow({ executionStrategy: "concurrent", maxWorkers: 4 });
    flow.setExecutionStrategy("sequential", 4);
    await runMany(flow);

    expect(gauge.peak).toBe(1);
  });

  it("one job alone is bounded too: its fan-out of many tasks runs at most maxWorkers at once", async () => {
    const { flow, gauge } = gaugedFlow({ executionStrategy: "concurrent", maxWorkers: 2 });
    const [job] = await runMany(flow, 1);

    expect(job!.status).toBe("completed");
    expect(gauge.peak).toBe(2);
  });

  it("setExecutionStrategy changes the bound for later jobs", async () => {
    const { flow, gauge } = gaugedFlow({ executionStrategy: "concurrent", maxWorkers: 5 });
    flow.setExecutionStrategy("concurrent", 2);
    await runMany(flow);

    expect(gauge.peak).toBe(2);
  });

  it("a retry waiting for its delay holds no worker", async () => {
    // One worker; job A fails once and waits 30 ms to retry; job B must run meanwhile.
    const flow = new Flow({ executionStrategy: "concurrent", maxWorkers: 1 });
    const order: string[] = [];
    let attemptsOfA = 0;
    flow.addRoutine(routine({
      trigger: (data) => {
        order.push(String(data.name));
        if (data.name === "A" && ++attemptsOfA === 1) throw new Error("flaky");
      },
    }), "r");
    flow.getRoutine("r")!.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 1, retryDelayMs: 30 }));
    const a = flow.execute("r", { entryParams: { name: "A" } });
    const b = flow.execute("r", { entryParams: { name: "B" } });
    await JobState.waitForCompletion(flow, b);
    await JobState.waitForCompletion(flow, a);

    expect(order).toEqual(["A", "B", "A"]);
    expect([a.status, b.status]).toEqual(["completed", "completed"]);
  });
});
