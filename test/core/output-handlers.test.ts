// Output handlers: queue, callback and null; a failing output handler never fails the job.
import { describe, expect, it } from "vitest";
import {
  CallbackOutputHandler,
  Flow,
  JobState,
  NullOutputHandler,
  QueueOutputHandler,
  type OutputHandler,
  type OutputRecord,
} from "../../src/index.js";
import { routine, trace } from "../fixtures/testing.js";

/** `reporter` sends `count` outputs of type "progress" with `{ step }`, then one "done". */
function reportingFlow(count = 3): Flow {
  const flow = new Flow({ flowId: "outputs" });
  flow.addRoutine(routine({
    trigger: (_data, _ctx, self) => {
      for (let step = 1; step <= count; step++) self.sendOutput("progress", { step });
      self.sendOutput("done");
    },
  }), "reporter");
  return flow;
}

async function run(flow: Flow, outputHandler?: OutputHandler): Promise<JobState> {
  const job = flow.execute("reporter", outputHandler === undefined ? {} : { outputHandler });
  expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
  return job;
}

const EXPECTED = [
  ["reporter", "progress", { step: 1 }],
  ["reporter", "progress", { step: 2 }],
  ["reporter", "progress", { step: 3 }],
  ["reporter", "done", {}],
];
const shape = (o: OutputRecord) => [o.routineId, o.outputType, o.data];

describe("QueueOutputHandler", () => {
  it("collects the job's outputs in items, in order, with Date timestamps", async () => {
    const queue = new QueueOutputHandler();
    const job = await run(reportingFlow(), queue);

    expect(job.status).toBe("completed");
    expect(queue.items.map(shape)).toEqual(EXPECTED);
    for (const item of queue.items) expect(item.timestamp).toBeInstanceOf(Date);
  });

  it("shift takes the oldest output, and undefined once empty", async () => {
    const queue = new QueueOutputHandler();
    await run(reportingFlow(1), queue);

    expect(queue.shift()?.data).toEqual({ step: 1 });
    expect(queue.shift()?.outputType).toBe("done");
    expect(queue.shift()).toBeUndefined();
    expect(queue.items).toHaveLength(0);
  });

  it("for await reads every queued output and ends after close", async () => {
    const queue = new QueueOutputHandler();
    await run(reportingFlow(), queue);
    queue.close();

    const read: OutputRecord[] = [];
    for await (const output of queue) read.push(output);
    expect(read.map(shape)).toEqual(EXPECTED);
  });

  it("for await started before the job receives outputs as they come, until close", async () => {
    const queue = new QueueOutputHandler();
    const consumer = (async () => {
      const read: OutputRecord[] = [];
      for await (const output of queue) read.push(output);
      return read;
    })();
    const flow = new Flow();
    flow.addRoutine(routine({
      trigger: async (_data, _ctx, self) => {
        for (let step = 1; step <= 3; step++) {
          self.sendOutput("progress", { step });
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      },
    }), "reporter");
    const job = flow.execute("reporter", { outputHandler: queue });
    await JobState.waitForCompletion(flow, job);
    queue.close();

    expect((await consumer).map((o) => o.data)).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
  });

  it("outputs sent after close are not queued, but still logged in the job", async () => {
    const queue = new QueueOutputHandler();
    queue.close();
    const job = await run(reportingFlow(1), queue);

    expect(queue.items).toHaveLength(0);
    expect(job.outputLog.map(shape)).toEqual([["reporter", "progress", { step: 1 }], ["reporter", "done", {}]]);
  });
});

describe("CallbackOutputHandler", () => {
  it("calls the function with routine id, output type, data and timestamp for each output", async () => {
    const calls: unknown[][] = [];
    const job = await run(reportingFlow(), new CallbackOutputHandler((routineId, outputType, data, timestamp) => {
      calls.push([routineId, outputType, data, timestamp instanceof Date]);
    }));

    expect(calls).toEqual(EXPECTED.map((e) => [...e, true]));
    expect(job.outputLog.map(shape)).toEqual(EXPECTED);
  });

  it("runs while the handler runs: the callback sees the job in progress", async () => {
    const statuses: string[] = [];
    const watched: { job?: JobState } = {};
    const flow = reportingFlow(1);
    const job = flow.execute("reporter", { outputHandler: new CallbackOutputHandler(() => void statuses.push(watched.job!.status)) });
    watched.job = job;
    await JobState.waitForCompletion(flow, job);

    expect(statuses).toEqual(["running", "running"]);
  });
});

describe("NullOutputHandler", () => {
  it("discards outputs, which are still in the job's outputLog", async () => {
    const job = await run(reportingFlow(), new NullOutputHandler());

    expect(job.status).toBe("completed");
    expect(job.outputLog.map(shape)).toEqual(EXPECTED);
  });
});

describe("without an output handler", () => {
  it("outputs go to the outputLog only", async () => {
    const job = await run(reportingFlow());

    expect(job.outputLog.map(shape)).toEqual(EXPECTED);
  });
});

describe("a failing output handler", () => {
  it("does not fail the job; the failure is recorded and the output is still in outputLog", async () => {
    const job = await run(reportingFlow(1), new CallbackOutputHandler((_routineId, outputType) => {
      if (outputType === "progress") throw new Error("socket closed");
    }));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("reporter")?.status).toBe("completed");
    expect(job.outputLog.map(shape)).toEqual([["reporter", "progress", { step: 1 }], ["reporter", "done", {}]]);
    const failures = job.executionHistory.filter((r) => r.eventName === "output_error");
    expect(failures).toHaveLength(1);
    expect(failures[0]!.routineId).toBe("reporter");
    expect(failures[0]!.data).toMatchObject({ outputType: "progress", error: "socket closed", errorType: "Error" });
    expect(trace(job.executionHistory)).toEqual(["reporter -> start", "reporter -> output_error", "outputs -> completed"]);
  });

  it("the handler that sent the output carries on after the failure", async () => {
    const flow = new Flow();
    const after: string[] = [];
    flow.addRoutine(routine({
      trigger: (_data, _ctx, self) => {
        self.sendOutput("first");
        after.push("still running");
        self.emit("next");
      },
    }, ["next"]), "reporter");
    flow.addRoutine(routine({ input: () => void after.push("downstream ran") }), "next");
    flow.connect("reporter", "next", "next", "input");
    const job = flow.execute("reporter", {
      outputHandler: {
        handle() {
          throw new Error("nope");
        },
      },
    });
    await JobState.waitForCompletion(flow, job);

    expect(after).toEqual(["still running", "downstream ran"]);
    expect(job.status).toBe("completed");
  });
});
