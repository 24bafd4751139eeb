// Isolation of concurrent jobs: one routine object serves many jobs at once, with interleaved
// awaits, and every job sees only its own data.
import { describe, expect, it } from "vitest";
import { Flow, JobState, QueueOutputHandler, Routine, type ExecutionContext } from "../../src/index.js";
import { seededRandom, sleep } from "../fixtures/testing.js";

const JOBS = 24;
const ITEMS = 6;

/** Splits a job's entry params into ITEMS items, each tagged with the job's tag. */
class Splitter extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.split);
    this.defineEvent("item", ["tag", "index"]);
  }

  split(data: Record<string, unknown>): void {
    for (let index = 0; index < ITEMS; index++) this.emit("item", { tag: data.tag, index });
  }
}

/**
 * The routine shared by every job. It awaits random small delays between steps, and after each
 * await checks that the async context still names the job its data came from.
 */
class Worker extends Routine {
  readonly mismatches: string[] = [];
  readonly #random: () => number;

  constructor(random: () => number) {
    super();
    this.#random = random;
    this.defineSlot("input", this.work);
    this.defineEvent("done", ["tag", "index"]);
  }

  async work(data: Record<string, unknown>, ctx: ExecutionContext): Promise<void> {
    const tag = String(data.tag);
    const check = (step: string): ExecutionContext => {
      const now = this.getExecutionContext();
      if (now?.jobState !== ctx.jobState || now.jobState.metadata.tag !== tag || now.routineId !== "worker") {
        this.mismatches.push(`${tag}#${String(data.index)} ${step}: context of ${String(now?.jobState.metadata.tag)}`);
      }
      return now ?? ctx;
    };
    await sleep(Math.floor(this.#random() * 4));
    let here = check("after first await");
    here.jobState.updateSharedData(`item${String(data.index)}`, tag);
    here.jobState.appendToSharedLog({ tag, index: data.index });
    this.sendOutput("item", { tag, index: data.index });
    await sleep(Math.floor(this.#random() * 4));
    here = check("after second await");
    const previous = here.jobState.getRoutineState(here.routineId) ?? {};
    const tags = Array.isArray(previous.tags) ? (previous.tags as string[]) : [];
    here.jobState.updateRoutineState(here.routineId, { ...previous, tags: [...tags, tag] });
    await Promise.resolve();
    check("after a microtask");
    this.emit("done", { tag, index: data.index });
  }
}

/** Collects every `done` of its job through an append merge. */
class Collector extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.collect, { mergeStrategy: "append" });
  }

  collect(data: Record<string, unknown>, ctx: ExecutionContext): void {
    ctx.jobState.updateSharedData("collected", data.tag);
  }
}

function isolationFlow(seed: number): { flow: Flow; worker: Worker } {
  const flow = new Flow({ flowId: "isolation", executionStrategy: "concurrent", maxWorkers: 8 });
  const worker = new Worker(seededRandom(seed));
  flow.addRoutine(new Splitter(), "splitter");
  flow.addRoutine(worker, "worker");
  flow.addRoutine(new Collector(), "collector");
  flow.connect("splitter", "item", "worker", "input");
  flow.connect("worker", "done", "collector", "input");
  return { flow, worker };
}

async function runJobs(flow: Flow): Promise<Array<{ tag: string; job: JobState; outputs: QueueOutputHandler }>> {
  const runs = Array.from({ length: JOBS }, (_, i) => {
    const tag = `job-${i}`;
    const outputs = new QueueOutputHandler();
    const job = flow.execute("splitter", { entryParams: { tag }, metadata: { tag }, outputHandler: outputs });
    return { tag, job, outputs };
  });
  await Promise.all(runs.map((r) => JobState.waitForCompletion(flow, r.job, { timeoutMs: 5000 })));
  return runs;
}

describe("concurrent jobs on one routine object", () => {
  it("every handler's async context names its own job after each await", async () => {
    const { flow, worker } = isolationFlow(1);
    const runs = await runJobs(flow);

    expect(runs.map((r) => r.job.status)).toEqual(runs.map(() => "completed"));
    expect(worker.mismatches).toEqual([]);
  });

  it("each job's history holds only its own data", async () => {
    const { flow } = isolationFlow(2);
    const runs = await runJobs(flow);

    for (const { tag, job } of runs) {
      const tagged = job.executionHistory.filter((r) => "tag" in r.data);
      // start, ITEMS item emits, ITEMS done emits
      expect(tagged).toHaveLength(1 + 2 * ITEMS);
      expect(tagged.every((r) => r.data.tag === tag)).toBe(true);
      const indexes = job.getExecutionHistory("worker").map((r) => r.data.index as number).sort((a, b) => a - b);
      expect(indexes).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it("each job's routine states hold only its own data", async () => {
    const { flow } = isolationFlow(3);
    const runs = await runJobs(flow);

    for (const { tag, job } of runs) {
      const state = job.getRoutineState("worker");
      expect(state?.status).toBe("completed");
      expect(state?.tags).toEqual(Array.from({ length: ITEMS }, () => tag));
    }
  });

  it("each job's shared data and shared log hold only its own data", async () => {
    const { flow } = isolationFlow(4);
    const runs = await runJobs(flow);

    for (const { tag, job } of runs) {
      expect(job.sharedData).toEqual({
        item0: tag, item1: tag, item2: tag, item3: tag, item4: tag, item5: tag, collected: Array.from({ length: ITEMS }, () => tag),
      });
      const log = job.getSharedLog() as Array<{ tag: string; index: number }>;
      expect(log).toHaveLength(ITEMS);
      expect(log.every((e) => e.tag === tag)).toBe(true);
      expect(log.map((e) => e.index).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it("each job's outputs go only to its own output handler and output log", async () => {
    const { flow } = isolationFlow(5);
    const runs = await runJobs(flow);

    for (const { tag, job, outputs } of runs) {
      expect(outputs.items).toHaveLength(ITEMS);
      expect(outputs.items.every((o) => o.data.tag === tag && o.routineId === "worker")).toBe(true);
      expect(job.outputLog).toHaveLength(ITEMS);
      expect(job.outputLog.every((o) => o.data.tag === tag)).toBe(true);
    }
  });

  it("jobs really interleave: some job's items run while another job's are in flight", async () => {
    // Guards the tests above against passing only because the jobs ran one after the other.
    const flow = new Flow({ flowId: "interleave", executionStrategy: "concurrent", maxWorkers: 4 });
    const active = new Set<string>();
    let overlapped = false;
    const shared = new Routine();
    shared.defineSlot("trigger", async function (data) {
      const tag = String(data.tag);
      for (const other of active) if (other !== tag) overlapped = true;
      active.add(tag);
      await sleep(2);
      active.delete(tag);
    });
    flow.addRoutine(shared, "shared");
    const jobs = ["a", "b", "c"].map((tag) => flow.execute("shared", { entryParams: { tag } }));
    await Promise.all(jobs.map((job) => JobState.waitForCompletion(flow, job)));

    expect(overlapped).toBe(true);
  });
});
