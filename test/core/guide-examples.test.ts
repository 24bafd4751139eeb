// The examples of the JobState guide (spec/seed-jobstate-guide.txt) that the core covers, ported
// to TypeScript, with the guide's expected outputs as assertions.
import { describe, expect, it } from "vitest";
import {
  ErrorHandler,
  ErrorStrategy,
  Flow,
  JobState,
  QueueOutputHandler,
  Routine,
  type ExecutionContext,
} from "../../src/index.js";
import { sleep, trace } from "../fixtures/testing.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The guide's `Source`: its trigger emits `output` with `data="test"`. */
class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.send);
    this.defineEvent("output", ["data"]);
  }

  send(): void {
    this.emit("output", { data: "test" });
  }
}

function sourceFlow(): { flow: Flow; sourceId: string } {
  const flow = new Flow({ flowId: "my_flow" });
  const sourceId = flow.addRoutine(new Source(), "source");
  return { flow, sourceId };
}

/** An entry routine that passes its entry params on to a handler routine's `input` slot. */
class Entry extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.start);
    this.defineEvent("output");
  }

  start(data: Record<string, unknown>): void {
    this.emit("output", data);
  }
}

function flowWith(target: Routine, options: ConstructorParameters<typeof Flow>[0] = {}): Flow {
  const flow = new Flow({ flowId: "guide", ...options });
  flow.addRoutine(new Entry(), "entry");
  flow.addRoutine(target, "target");
  flow.connect("entry", "output", "target", "input");
  return flow;
}

describe("guide: creating a JobState", () => {
  it("execute returns a JobState with a UUID job id and the flow's id, which completes", async () => {
    const { flow, sourceId } = sourceFlow();
    const jobState = flow.execute(sourceId);

    expect(jobState).toBeInstanceOf(JobState);
    expect(jobState.jobId).toMatch(UUID);
    expect(jobState.flowId).toBe("my_flow");
    expect(await JobState.waitForCompletion(flow, jobState, { timeoutMs: 5000 })).toBe(true);
    // Guide: "Status: completed"
    expect(jobState.status).toBe("completed");
  });

  it("every job gets its own version-4 UUID, past the batch of random bytes ids are drawn from", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const id = new JobState("ids").jobId;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(1_000);
  });

  it("execute runs no handler before it returns: the job is running with only its start record", async () => {
    const { flow, sourceId } = sourceFlow();
    const jobState = flow.execute(sourceId, { entryParams: { value: "A" } });

    expect(jobState.status).toBe("running");
    expect(trace(jobState.executionHistory)).toEqual(["source -> start"]);
    expect(jobState.executionHistory[0]!.data).toEqual({ value: "A" });
    expect(jobState.getRoutineState("source")).toBeUndefined();
    await JobState.waitForCompletion(flow, jobState);
  });
});

describe("guide: multiple independent executions", () => {
  it("each execute creates its own JobState with its own history", async () => {
    const { flow, sourceId } = sourceFlow();
    const jobState1 = flow.execute(sourceId, { entryParams: { value: "A" } });
    const jobState2 = flow.execute(sourceId, { entryParams: { value: "B" } });
    const jobState3 = flow.execute(sourceId, { entryParams: { value: "C" } });

    expect(jobState1.jobId).not.toBe(jobState2.jobId);
    expect(jobState2.jobId).not.toBe(jobState3.jobId);
    expect(jobState1).not.toBe(jobState2);

    await Promise.all([jobState1, jobState2, jobState3].map((j) => JobState.waitForCompletion(flow, j)));
    for (const [job, value] of [[jobState1, "A"], [jobState2, "B"], [jobState3, "C"]] as const) {
      expect(job.status).toBe("completed");
      expect(job.executionHistory).toHaveLength(3);
      expect(job.executionHistory[0]!.data).toEqual({ value });
    }
    expect(jobState1.executionHistory).not.toBe(jobState2.executionHistory);
  });
});

describe("guide: accessing execution history", () => {
  it("records start, output and the job's end: total 3 records, 2 of them from source", async () => {
    const { flow, sourceId } = sourceFlow();
    const jobState = flow.execute(sourceId);
    await JobState.waitForCompletion(flow, jobState);

    const allRecords = jobState.executionHistory;
    // Guide: "Total records: 3" and "Source records: 2"
    expect(allRecords).toHaveLength(3);
    expect(jobState.getExecutionHistory("source")).toHaveLength(2);
    expect(allRecords.map((r) => ({ routineId: r.routineId, eventName: r.eventName, data: r.data }))).toEqual([
      { routineId: "source", eventName: "start", data: {} },
      { routineId: "source", eventName: "output", data: { data: "test" } },
      { routineId: "my_flow", eventName: "completed", data: {} },
    ]);
  });

  it("timestamps are Dates in chronological order", async () => {
    const { flow, sourceId } = sourceFlow();
    const jobState = flow.execute(sourceId);
    await JobState.waitForCompletion(flow, jobState);

    const times = jobState.executionHistory.map((r) => r.timestamp);
    expect(times).toHaveLength(3);
    for (const t of times) expect(t).toBeInstanceOf(Date);
    for (let i = 1; i < times.length; i++) expect(times[i]!.getTime()).toBeGreaterThanOrEqual(times[i - 1]!.getTime());
  });

  it("getExecutionHistory returns a copy that does not change the job", async () => {
    const { flow, sourceId } = sourceFlow();
    const jobState = flow.execute(sourceId);
    await JobState.waitForCompletion(flow, jobState);

    const copy = jobState.getExecutionHistory();
    copy.length = 0;
    expect(jobState.getExecutionHistory()).toHaveLength(3);
  });
});

describe("guide: accessing routine states", () => {
  it("a routine that ran has status completed", async () => {
    const { flow, sourceId } = sourceFlow();
    const jobState = flow.execute(sourceId);
    await JobState.waitForCompletion(flow, jobState);

    const sourceState = jobState.getRoutineState("source");
    expect(sourceState?.status).toBe("completed");
  });

  it("updateRoutineState replaces the state, and getRoutineState returns a copy", async () => {
    class Marker extends Routine {
      constructor() {
        super();
        this.defineSlot("trigger", this.mark);
      }

      mark(_data: Record<string, unknown>, ctx: ExecutionContext): void {
        ctx.jobState.updateRoutineState(ctx.routineId, { processed: true });
      }
    }
    const flow = new Flow({ flowId: "my_flow" });
    flow.addRoutine(new Marker(), "source");
    const jobState = flow.execute("source");
    await JobState.waitForCompletion(flow, jobState);
    expect(jobState.getRoutineState("source")).toEqual({ processed: true, status: "completed" });

    const state = { status: "completed", executionTime: 0.5, customField: "value" };
    jobState.updateRoutineState("source", state);
    state.customField = "changed afterwards";

    const updated = jobState.getRoutineState("source");
    // Replaced, not merged: `processed` is gone; and the job kept its own copy of what it was given.
    expect(updated).toEqual({ status: "completed", executionTime: 0.5, customField: "value" });
    updated!.status = "tampered";
    expect(jobState.getRoutineState("source")?.status).toBe("completed");
    expect(jobState.routineStates.source).toEqual({ status: "completed", executionTime: 0.5, customField: "value" });
  });
});

describe("guide: getExecutionContext() inside a handler", () => {
  class Processor extends Routine {
    seen: ExecutionContext[] = [];

    constructor() {
      super();
      this.defineSlot("input", this.process);
    }

    async process(data: Record<string, unknown>): Promise<void> {
      await sleep(1);
      const ctx = this.getExecutionContext();
      if (ctx) {
        this.seen.push(ctx);
        ctx.jobState.updateRoutineState(ctx.routineId, { processed: true });
        ctx.jobState.updateSharedData("last_item", data.item);
        this.sendOutput("user_data", { message: "Processed", value: data.item });
      }
    }
  }

  it("gives the flow, the job and the routine id, even after an await", async () => {
    const processor = new Processor();
    const flow = flowWith(processor);
    const jobState = flow.execute("entry", { entryParams: { item: 42 } });
    await JobState.waitForCompletion(flow, jobState);

    expect(jobState.status).toBe("completed");
    expect(processor.seen).toHaveLength(1);
    const ctx = processor.seen[0]!;
    expect(ctx.flow).toBe(flow);
    expect(ctx.jobState).toBe(jobState);
    expect(ctx.routineId).toBe("target");
    expect(jobState.getRoutineState("target")).toEqual({ processed: true, status: "completed" });
    expect(jobState.getSharedData("last_item")).toBe(42);
    expect(jobState.outputLog.map((o) => [o.routineId, o.outputType, o.data])).toEqual([
      ["target", "user_data", { message: "Processed", value: 42 }],
    ]);
  });

  it("passes the same context as the handler's second argument", async () => {
    const seen: Array<[ExecutionContext, ExecutionContext | undefined]> = [];
    class Both extends Routine {
      constructor() {
        super();
        this.defineSlot("input", this.handle);
      }

      handle(_data: Record<string, unknown>, ctx: ExecutionContext): void {
        seen.push([ctx, this.getExecutionContext()]);
      }
    }
    const flow = flowWith(new Both());
    const jobState = flow.execute("entry");
    await JobState.waitForCompletion(flow, jobState);

    expect(seen).toHaveLength(1);
    const [arg, found] = seen[0]!;
    expect(found?.jobState).toBe(arg.jobState);
    expect(found?.routineId).toBe(arg.routineId);
    expect(arg.jobState).toBe(jobState);
  });

  it("returns undefined outside a job", () => {
    expect(new Processor().getExecutionContext()).toBeUndefined();
  });
});

describe("guide: storing business data", () => {
  it("shared_data: a handler stores, reads back and updates values", async () => {
    class DataCollector extends Routine {
      constructor() {
        super();
        this.defineSlot("input", this.process);
      }

      process(data: Record<string, unknown>): void {
        const ctx = this.getExecutionContext();
        if (ctx) {
          ctx.jobState.updateSharedData("items", data.items);
          const items = ctx.jobState.getSharedData<unknown[]>("items", []);
          ctx.jobState.updateSharedData("count", items.length);
        }
      }
    }
    const flow = flowWith(new DataCollector());
    const jobState = flow.execute("entry", { entryParams: { items: ["a", "b", "c"] } });
    await JobState.waitForCompletion(flow, jobState);

    expect(jobState.getSharedData("items")).toEqual(["a", "b", "c"]);
    expect(jobState.getSharedData("count")).toBe(3);
    expect(jobState.sharedData).toEqual({ items: ["a", "b", "c"], count: 3 });
    expect(jobState.getSharedData("missing", "fallback")).toBe("fallback");
    expect(jobState.getSharedData("missing")).toBeUndefined();
  });

  it("shared_log: each activation appends an entry, in order", async () => {
    const sizes: number[] = [];
    const appended: unknown[] = [];
    class Logger extends Routine {
      constructor() {
        super();
        this.defineSlot("input", this.process);
      }

      process(data: Record<string, unknown>): void {
        const ctx = this.getExecutionContext();
        if (ctx) {
          const entry = { timestamp: new Date().toISOString(), action: "process", data: data.n };
          appended.push(entry);
          ctx.jobState.appendToSharedLog(entry);
          sizes.push(ctx.jobState.getSharedLog().length);
        }
      }
    }
    class Repeat extends Routine {
      constructor() {
        super();
        this.defineSlot("trigger", this.start);
        this.defineEvent("output");
      }

      start(): void {
        for (let n = 1; n <= 3; n++) this.emit("output", { n });
      }
    }
    const flow = new Flow({ flowId: "log" });
    flow.addRoutine(new Repeat(), "entry");
    flow.addRoutine(new Logger(), "logger");
    flow.connect("entry", "output", "logger", "input");
    const jobState = flow.execute("entry");
    await JobState.waitForCompletion(flow, jobState);

    // Guide: "Total log entries: 1", then 2, then 3.
    expect(sizes).toEqual([1, 2, 3]);
    const log = jobState.getSharedLog() as Array<{ action: string; data: number; timestamp: string }>;
    expect(log.map((e) => [e.action, e.data])).toEqual([["process", 1], ["process", 2], ["process", 3]]);
    // The entries as the handler appended them, timestamps included.
    expect(log).toEqual(appended);
    log.length = 0;
    expect(jobState.sharedLog).toHaveLength(3);
  });
});

describe("guide: sending output", () => {
  class DataProcessor extends Routine {
    constructor() {
      super();
      this.defineSlot("input", this.process);
    }

    process(data: Record<string, unknown>): void {
      this.sendOutput("user_data", { message: "Processing", value: data.value });
      this.sendOutput("status", { progress: 50, status: "in_progress" });
    }
  }

  it("outputs go to the job's QueueOutputHandler and to its outputLog, in order", async () => {
    const flow = flowWith(new DataProcessor());
    const outputs = new QueueOutputHandler();
    const jobState = flow.execute("entry", { entryParams: { value: 7 }, outputHandler: outputs });
    await JobState.waitForCompletion(flow, jobState);

    const expected = [
      ["target", "user_data", { message: "Processing", value: 7 }],
      ["target", "status", { progress: 50, status: "in_progress" }],
    ];
    expect(outputs.items.map((o) => [o.routineId, o.outputType, o.data])).toEqual(expected);
    expect(jobState.outputLog.map((o) => [o.routineId, o.outputType, o.data])).toEqual(expected);
    // Outputs are not events: nothing about them in the history.
    expect(jobState.executionHistory.some((r) => r.eventName === "user_data" || r.eventName === "status")).toBe(false);
  });

  it("a handler set on a JobState receives that JobState's sendOutput", () => {
    const jobState = new JobState("my_flow");
    const outputs = new QueueOutputHandler();
    jobState.setOutputHandler(outputs);
    jobState.sendOutput("processor", "status", { progress: 50 });

    expect(outputs.items.map((o) => [o.routineId, o.outputType, o.data])).toEqual([["processor", "status", { progress: 50 }]]);
    expect(jobState.outputLog).toHaveLength(1);
  });
});

describe("guide: JobState status", () => {
  it("goes pending (new JobState) -> running (execute) -> completed", async () => {
    expect(new JobState("my_flow").status).toBe("pending");
    const { flow, sourceId } = sourceFlow();
    const jobState = flow.execute(sourceId);
    expect(jobState.status).toBe("running");
    expect(await JobState.waitForCompletion(flow, jobState, { timeoutMs: 5000 })).toBe(true);
    expect(jobState.status).toBe("completed");
  });

  class Failing extends Routine {
    constructor() {
      super();
      this.defineSlot("input", this.process);
    }

    process(): void {
      throw new Error("disk full");
    }
  }

  it("a routine failing under STOP makes the job failed, and the failed routine is found in routineStates", async () => {
    const flow = flowWith(new Failing());
    const jobState = flow.execute("entry");
    expect(await JobState.waitForCompletion(flow, jobState, { timeoutMs: 5000 })).toBe(true);

    expect(jobState.status).toBe("failed");
    const failed = Object.entries(jobState.routineStates)
      .filter(([, state]) => state.status === "failed")
      .map(([id, state]) => [id, state.error]);
    expect(failed).toEqual([["target", "disk full"]]);
    expect(jobState.getRoutineState("entry")?.status).toBe("completed");
  });

  it("a tolerated error (CONTINUE) leaves the routine error_continued and the job completed", async () => {
    const failing = new Failing();
    failing.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    const flow = flowWith(failing);
    const jobState = flow.execute("entry");
    await JobState.waitForCompletion(flow, jobState);

    expect(jobState.getRoutineState("target")?.status).toBe("error_continued");
    expect(jobState.status).toBe("completed");
    expect(jobState.getExecutionHistory("target").map((r) => r.eventName)).toContain("error");
  });

  it("a skipped routine (SKIP) leaves the job completed", async () => {
    const failing = new Failing();
    failing.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.SKIP }));
    const flow = flowWith(failing);
    const jobState = flow.execute("entry");
    await JobState.waitForCompletion(flow, jobState);

    expect(jobState.getRoutineState("target")?.status).toBe("skipped");
    expect(jobState.status).toBe("completed");
  });

  it("the job's status can be read while it runs and shows the job in progress", async () => {
    const observed: string[] = [];
    const watched: { job?: JobState } = {};
    class Observer extends Routine {
      constructor() {
        super();
        this.defineSlot("input", this.look);
      }

      async look(): Promise<void> {
        await sleep(1);
        observed.push(watched.job!.status, String(watched.job!.executionHistory.length));
      }
    }
    const flow = flowWith(new Observer());
    const jobState = flow.execute("entry");
    watched.job = jobState;
    await JobState.waitForCompletion(flow, jobState);

    // While `target` ran: running, with start and entry's emit recorded.
    expect(observed).toEqual(["running", "2"]);
    expect(jobState.status).toBe("completed");
    expect(jobState.executionHistory).toHaveLength(3);
  });
});

describe("guide: access JobState from routine handlers", () => {
  it("recordExecution from a handler adds a record to the job's history", async () => {
    class MyRoutine extends Routine {
      constructor() {
        super();
        this.defineSlot("input", this.process);
      }

      process(data: Record<string, unknown>): void {
        const ctx = this.getExecutionContext();
        if (ctx) ctx.jobState.recordExecution(ctx.routineId, "process", data);
      }
    }
    const flow = flowWith(new MyRoutine());
    const jobState = flow.execute("entry", { entryParams: { task: "A" } });
    await JobState.waitForCompletion(flow, jobState);

    expect(trace(jobState.executionHistory)).toEqual([
      "entry -> start",
      "entry -> output",
      "target -> process",
      "guide -> completed",
    ]);
    expect(jobState.getExecutionHistory("target")[0]!.data).toEqual({ task: "A" });
  });
});

// Thread-pool sharing in the guide becomes concurrent jobs sharing one flow's worker pool.
describe("guide: concurrent execution scenarios", () => {
  /** The guide's isolation `Source`: records its own output, works a little, then emits. */
  class NamedSource extends Routine {
    readonly name: string;

    constructor(name: string) {
      super();
      this.name = name;
      this.defineSlot("trigger", this.send);
      this.defineEvent("output", ["data"]);
    }

    async send(): Promise<void> {
      const ctx = this.getExecutionContext();
      if (ctx) ctx.jobState.recordExecution(ctx.routineId, "output", { data: `from ${this.name}` });
      await sleep(2); // simulate work
      this.emit("output", { data: `from ${this.name}` });
    }
  }

  class NamedProcessor extends Routine {
    readonly name: string;

    constructor(name: string) {
      super();
      this.name = name;
      this.defineSlot("input", this.process);
    }

    process(data: Record<string, unknown>): void {
      const ctx = this.getExecutionContext();
      if (ctx) ctx.jobState.recordExecution(ctx.routineId, "input", { data: data.data });
    }
  }

  function isolationFlow(): Flow {
    const flow = new Flow({ flowId: "isolation_test", executionStrategy: "concurrent", maxWorkers: 1 });
    const s1 = flow.addRoutine(new NamedSource("Source1"), "s1");
    const s2 = flow.addRoutine(new NamedSource("Source2"), "s2");
    const p1 = flow.addRoutine(new NamedProcessor("Processor1"), "p1");
    const p2 = flow.addRoutine(new NamedProcessor("Processor2"), "p2");
    flow.connect(s1, "output", p1, "input");
    flow.connect(s2, "output", p2, "input");
    return flow;
  }

  function routinesOf(job: JobState): Set<string> {
    return new Set(job.executionHistory.map((r) => r.routineId));
  }

  it("isolation with one worker: two executions one after the other each hold only their own records", async () => {
    const flow = isolationFlow();
    const jobState1 = flow.execute("s1");
    await JobState.waitForCompletion(flow, jobState1, { timeoutMs: 2000 });
    const jobState2 = flow.execute("s2");
    await JobState.waitForCompletion(flow, jobState2, { timeoutMs: 2000 });

    // Guide: "JobState 1 routines: {'s1', 'p1', ...}" and "JobState 2 routines: {'s2', 'p2', ...}"
    expect(routinesOf(jobState1)).toEqual(new Set(["s1", "p1", "isolation_test"]));
    expect(routinesOf(jobState2)).toEqual(new Set(["s2", "p2", "isolation_test"]));
    expect(jobState1.getExecutionHistory("p1").map((r) => r.data)).toEqual([{ data: "from Source1" }]);
    expect(jobState2.getExecutionHistory("p2").map((r) => r.data)).toEqual([{ data: "from Source2" }]);
  });

  it("isolation with one worker: two executions at once each hold only their own records", async () => {
    const flow = isolationFlow();
    const jobState1 = flow.execute("s1");
    const jobState2 = flow.execute("s2");
    await Promise.all([JobState.waitForCompletion(flow, jobState1), JobState.waitForCompletion(flow, jobState2)]);

    expect([jobState1.status, jobState2.status]).toEqual(["completed", "completed"]);
    expect(routinesOf(jobState1)).toEqual(new Set(["s1", "p1", "isolation_test"]));
    expect(routinesOf(jobState2)).toEqual(new Set(["s2", "p2", "isolation_test"]));
    expect(jobState1.getExecutionHistory("p1").map((r) => r.data)).toEqual([{ data: "from Source1" }]);
    expect(jobState2.getExecutionHistory("p2").map((r) => r.data)).toEqual([{ data: "from Source2" }]);
  });

  class TaskRoutine extends Routine {
    constructor() {
      super();
      this.defineSlot("trigger", this.process);
    }

    async process(data: Record<string, unknown>, ctx: ExecutionContext): Promise<void> {
      await sleep(1);
      ctx.jobState.updateSharedData("task", data.task);
      ctx.jobState.recordExecution(ctx.routineId, "process", { task: data.task });
    }
  }

  it("scenario 1: executions one after the other get distinct JobStates", async () => {
    const flow = new Flow({ flowId: "scenarios", executionStrategy: "concurrent", maxWorkers: 5 });
    const entryId = flow.addRoutine(new TaskRoutine(), "worker");

    const jobState1 = flow.execute(entryId, { entryParams: { task: "A" } });
    expect(await JobState.waitForCompletion(flow, jobState1, { timeoutMs: 2000 })).toBe(true);
    const jobState2 = flow.execute(entryId, { entryParams: { task: "B" } });
    expect(await JobState.waitForCompletion(flow, jobState2, { timeoutMs: 2000 })).toBe(true);

    expect(jobState1.jobId).not.toBe(jobState2.jobId);
    expect(jobState1).not.toBe(jobState2);
    expect(jobState1.getSharedData("task")).toBe("A");
    expect(jobState2.getSharedData("task")).toBe("B");
  });

  it("scenario 2: five executions at once share the pool and stay isolated", async () => {
    const flow = new Flow({ flowId: "scenarios", executionStrategy: "concurrent", maxWorkers: 5 });
    const entryId = flow.addRoutine(new TaskRoutine(), "worker");

    const runExecution = async (taskName: string): Promise<JobState> => {
      const jobState = flow.execute(entryId, { entryParams: { task: taskName } });
      await JobState.waitForCompletion(flow, jobState, { timeoutMs: 3000 });
      return jobState;
    };
    const jobStates = await Promise.all([0, 1, 2, 3, 4].map((i) => runExecution(`Task${i}`)));

    expect(new Set(jobStates.map((j) => j.jobId)).size).toBe(5);
    jobStates.forEach((job, i) => {
      expect(job.status).toBe("completed");
      expect(job.getSharedData("task")).toBe(`Task${i}`);
      expect(job.getExecutionHistory("worker").map((r) => r.data)).toEqual([{ task: `Task${i}` }, { task: `Task${i}` }]);
    });
  });

  it("store a JobState per execution: ten executions each end with their own task id", async () => {
    const flow = new Flow({ flowId: "scenarios", executionStrategy: "concurrent", maxWorkers: 3 });
    const entryId = flow.addRoutine(new TaskRoutine(), "worker");

    const executions = new Map<number, JobState>();
    for (let i = 0; i < 10; i++) executions.set(i, flow.execute(entryId, { entryParams: { task: i } }));
    for (const job of executions.values()) await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 });

    for (const [taskId, job] of executions) {
      expect(job.status).toBe("completed");
      expect(job.getSharedData("task")).toBe(taskId);
    }
  });
});
