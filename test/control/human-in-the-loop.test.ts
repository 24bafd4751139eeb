import { describe, expect, it } from "vitest";
import { Flow, JobState } from "../../src/index.js";
import { buildHitlFlow, hitlRegistry } from "../fixtures/hitl-routines.js";
import { trace } from "../fixtures/testing.js";

const QUESTION = "What is your name?";

async function pausedForInput(): Promise<{ flow: Flow; job: JobState }> {
  const flow = buildHitlFlow();
  const job = flow.execute("intake", { entryParams: { user: "u-1" } });
  expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
  return { flow, job };
}

describe("a handler that stores a deferred event and pauses its own job (the guide's human in the loop)", () => {
  it("pauses without deadlock: the pausing handler returns, and the job rests with its deferred event", async () => {
    const { job } = await pausedForInput();
    expect(job.status).toBe("paused");
    expect(job.getSharedData("pauseReturned")).toBe(true);
    expect(job.routineStates.ask?.status).toBe("completed");
    expect(job.pausePoints.map((p) => [p.reason, p.checkpoint])).toEqual([["Waiting for user input", { question: QUESTION }]]);
    expect(job.checkpoint).toEqual({ question: QUESTION });
    expect(job.deferredEvents).toEqual([{ routineId: "ask", eventName: "answered", data: { question: QUESTION } }]);
    expect(job.outputLog.map((o) => [o.outputType, o.data])).toEqual([["prompt", { question: QUESTION }]]);
    // The deferred event has not been delivered: its slot has not run.
    expect(job.routineStates.greet).toBeUndefined();
    expect(trace(job.executionHistory)).toEqual([
      "intake -> start",
      "intake -> question",
      "ask -> paused",
    ]);
    // Nothing of the pausing handler is left to run again.
    expect(job.pendingTasks.map((t) => t.routineId)).toEqual(["collect"]);
  });

  it("resume delivers the deferred event to its connected slot, which reads the answer, and the job completes", async () => {
    const { flow, job } = await pausedForInput();
    job.updateSharedData("answer", "Ada");
    expect(flow.resume(job)).toBe(job);
    expect(job.deferredEvents).toEqual([]);
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("completed");
    expect(job.getSharedData("greeting")).toBe(`Hi, Ada! (asked: ${QUESTION})`);
    expect(job.getSharedData("collected")).toEqual({ question: [QUESTION], user: ["u-1"], line: [`Hi, Ada! (asked: ${QUESTION})`] });
    expect(trace(job.executionHistory)).toEqual([
      "intake -> start",
      "intake -> question",
      "ask -> paused",
      "hitl -> resumed",
      "ask -> answered",
      "greet -> greeted",
      "hitl -> completed",
    ]);
    // Resuming the running (or completed) job again does not deliver the event twice.
    expect(job.executionHistory.filter((r) => r.eventName === "answered")).toHaveLength(1);
  });

  it("works the same after both documents go through JSON onto a flow rebuilt by Flow.deserialize", async () => {
    const { flow, job } = await pausedForInput();
    const flowText = JSON.stringify(flow.serialize(hitlRegistry()));
    const jobText = JSON.stringify(job.serialize());
    const rebuilt = Flow.deserialize(JSON.parse(flowText), hitlRegistry());
    const moved = JobState.fromDocument(JSON.parse(jobText));
    moved.updateSharedData("answer", "Grace");
    rebuilt.resume(moved);
    expect(await JobState.waitForCompletion(rebuilt, moved, { timeoutMs: 5000 })).toBe(true);
    expect(moved.status).toBe("completed");
    expect(moved.jobId).toBe(job.jobId);
    expect(moved.getSharedData("greeting")).toBe(`Hi, Grace! (asked: ${QUESTION})`);
    expect(moved.getSharedData("collected")).toEqual({ question: [QUESTION], user: ["u-1"], line: [`Hi, Grace! (asked: ${QUESTION})`] });
    // The original stays paused: the copy is independent of it.
    expect(job.status).toBe("paused");
  });
});
