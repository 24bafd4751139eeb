// `job.status` after an await, and the JobResult union: what a user's checks compile to.
import { describe, expect, expectTypeOf, it } from "vitest";
import { Flow, JobState, Routine, type JobResult, type JobStatus, type LiveJobStatus, type OutputRecord, type PausePoint } from "../../src/index.js";

function flowWithOneStep(): Flow {
  const flow = new Flow();
  const step = new Routine();
  step.defineSlot("trigger", () => undefined);
  flow.addRoutine(step, "step");
  return flow;
}

describe("job.status", () => {
  it("is read anew after an await: a check made before it does not narrow what is read after it", async () => {
    const flow = flowWithOneStep();
    const job = flow.execute("step");
    let seen = "";
    if (job.status === "running") {
      await job.result();
      if (job.status === "completed") seen = "completed after result()";
    }
    expect(seen).toBe("completed after result()");

    const second = flow.execute("step");
    if (second.status === "running") {
      await JobState.waitForCompletion(flow, second);
      if (second.status === "completed") seen = "completed after waitForCompletion";
    }
    expect(seen).toBe("completed after waitForCompletion");
  });

  it("is typed LiveJobStatus on a JobState, offering the six statuses", () => {
    expectTypeOf<JobState["status"]>().toEqualTypeOf<LiveJobStatus>();
    expectTypeOf<JobStatus>().toExtend<LiveJobStatus>();
    expectTypeOf<JobStatus>().toEqualTypeOf<"pending" | "running" | "completed" | "failed" | "paused" | "cancelled">();
  });
});

describe("JobResult", () => {
  it("narrows on status to that outcome's fields", () => {
    function fields(result: JobResult): string {
      switch (result.status) {
        case "completed":
          expectTypeOf(result.outputs).toEqualTypeOf<OutputRecord[]>();
          expectTypeOf(result.sharedData).toEqualTypeOf<Record<string, unknown>>();
          return "outputs";
        case "failed":
          expectTypeOf(result.error).toEqualTypeOf<{ readonly routineId: string; readonly message: string; readonly errorType: string }>();
          return result.error.errorType;
        case "paused":
          expectTypeOf(result.pausePoint).toEqualTypeOf<PausePoint>();
          return result.waitingFor?.[0]?.slotName ?? "paused";
        case "cancelled":
          expectTypeOf(result.reason).toEqualTypeOf<string | undefined>();
          return result.reason ?? "cancelled";
        default:
          // Exhaustive: every status is handled above.
          expectTypeOf(result).toBeNever();
          return result;
      }
    }
    expect(fields({ status: "cancelled", jobId: "j", reason: "stop" })).toBe("stop");
    function _compileOnly(result: JobResult): void {
      // @ts-expect-error: only a completed result has outputs
      void result.outputs;
      if (result.status === "failed") {
        // @ts-expect-error: a failed result has no outputs
        void result.outputs;
      }
      // @ts-expect-error: "complete" is not a status
      if (result.status === "complete") return;
    }
    expect(_compileOnly).toBeTypeOf("function");
  });
});
