import { describe, expect, it } from "vitest";
import { Flow, JobState, Routine } from "../src/index.js";

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

describe("a one-routine flow", () => {
  it("runs to completion and records start, emit and end", async () => {
    const flow = new Flow({ flowId: "my_flow" });
    const sourceId = flow.addRoutine(new Source(), "source");
    const job = flow.execute(sourceId);
    expect(job.status).toBe("running");
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("completed");
    expect(job.flowId).toBe("my_flow");
    expect(job.executionHistory.map((r) => `${r.routineId} -> ${r.eventName}`)).toEqual([
      "source -> start",
      "source -> output",
      "my_flow -> completed",
    ]);
  });
});
