import { describe, expect, it } from "vitest";
import { Flow, JobState, JobStateError, Routine, RoutiluxError } from "../../src/index.js";

class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", () => undefined);
  }
}

function flowNamed(flowId: string): Flow {
  const flow = new Flow({ flowId });
  flow.addRoutine(new Source(), "source");
  return flow;
}

describe("JobState.waitForCompletion with bad input", () => {
  it("rejects, naming both flows, for a job of another flow, and the job runs on", async () => {
    const a = flowNamed("flow-a");
    const b = flowNamed("flow-b");
    const job = a.execute("source");
    const waiting = JobState.waitForCompletion(b, job);
    await expect(waiting).rejects.toBeInstanceOf(JobStateError);
    await expect(waiting).rejects.toThrow(/'flow-a'.*'flow-b'/);
    await expect(JobState.waitForCompletion(a, job)).resolves.toBe(true);
    expect(job.status).toBe("completed");
  });

  it("rejects a negative or non-numeric timeout, showing the value received", async () => {
    const flow = flowNamed("flow-t");
    const job = flow.execute("source");
    await expect(JobState.waitForCompletion(flow, job, { timeoutMs: -1 })).rejects.toThrow(/timeoutMs.*-1/);
    await expect(JobState.waitForCompletion(flow, job, { timeoutMs: "5" as unknown as number })).rejects.toBeInstanceOf(RoutiluxError);
    await expect(JobState.waitForCompletion(flow, job)).resolves.toBe(true);
  });
});
