// Handlers may throw (or reject with) anything: a string, undefined, null, a plain object. Each is
// handled like an Error: recorded with a readable text, and the strategy applies.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, JobState, SimulatedClock } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";
import { TransientError, onlyRecord, recordsOf, runToRest } from "./helpers.js";

const circular: Record<string, unknown> = { id: "loop" };
circular.self = circular;

/** [label, the value thrown, a fragment the recorded error text must contain] */
const values: Array<[string, unknown, string]> = [
  ["a string", "x", "x"],
  ["undefined", undefined, "undefined"],
  ["null", null, "null"],
  ["a number", 42, "42"],
  ["a plain object", { code: 1 }, "code"],
  ["a circular object", circular, "object"],
  ["a symbol", Symbol("sym"), "sym"],
  ["a bigint", 10n, "10"],
];

function flowThatThrows(value: unknown, how: "throws" | "rejects", handler?: ErrorHandler) {
  const clock = new SimulatedClock();
  const flow = new Flow({ clock, ...(handler === undefined ? {} : { errorHandler: handler }) });
  let calls = 0;
  flow.addRoutine(routine({
    trigger: how === "throws"
      ? () => {
        calls++;
        throw value;
      }
      : () => {
        calls++;
        return Promise.reject(value);
      },
  }), "thrower");
  return { clock, flow, calls: () => calls };
}

describe.each(["throws", "rejects"] as const)("a handler that %s a non-Error value", (how) => {
  it.each(values)("%s fails the job under STOP with a readable error record", async (_label, value, fragment) => {
    const { clock, flow } = flowThatThrows(value, how);
    const job = flow.execute("thrower");
    const rested = JobState.waitForCompletion(flow, job);
    await runToRest(clock, job);

    await expect(rested).resolves.toBe(true);
    expect(job.status).toBe("failed");
    expect(job.getRoutineState("thrower")?.status).toBe("failed");
    const record = onlyRecord(job, "error", "thrower").data;
    expect(record).toMatchObject({ slot: "trigger", attempt: 1 });
    expect(typeof record.error).toBe("string");
    expect(record.error).toContain(fragment);
    expect(typeof record.errorType).toBe("string");
    expect(record.errorType).not.toBe("");
  });

  it.each(values)("%s survives a serialize round trip of the failed job", async (_label, value, fragment) => {
    const { clock, flow } = flowThatThrows(value, how);
    const job = await runToRest(clock, flow.execute("thrower"));
    const restored = JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));

    expect(onlyRecord(restored, "error", "thrower").data.error).toContain(fragment);
    expect(restored.status).toBe("failed");
  });
});

describe("strategies apply to non-Error values", () => {
  it("CONTINUE goes on after throw undefined", async () => {
    const { clock, flow } = flowThatThrows(undefined, "throws", new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    const job = await runToRest(clock, flow.execute("thrower"));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("thrower")?.status).toBe("error_continued");
  });

  it("SKIP goes on after throw null", async () => {
    const { clock, flow } = flowThatThrows(null, "throws", new ErrorHandler({ strategy: ErrorStrategy.SKIP }));
    const job = await runToRest(clock, flow.execute("thrower"));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("thrower")?.status).toBe("skipped");
  });

  it("RETRY without a retryable list retries a thrown string until exhausted", async () => {
    const { clock, flow, calls } = flowThatThrows("x", "throws", new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 5 }));
    const job = await runToRest(clock, flow.execute("thrower"));

    expect(job.status).toBe("failed");
    expect(calls()).toBe(3);
    expect(recordsOf(job, "retry")).toHaveLength(2);
  });

  it("RETRY with a class list does not retry a thrown plain object", async () => {
    const handler = new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 5, retryable: [TransientError] });
    const { clock, flow, calls } = flowThatThrows({ code: 1 }, "throws", handler);
    const job = flow.execute("thrower");
    await clock.advance(0);

    expect(job.status).toBe("failed");
    expect(calls()).toBe(1);
  });
});

describe("a thrown value that cannot be inspected", () => {
  // A revoked proxy throws on any inspection (even `instanceof`). User code must never crash the
  // engine: the failure is still recorded, the job still ends, and other jobs still run.
  it("a revoked proxy thrown by a handler fails its job and leaves the flow serving other jobs", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    flow.addRoutine(routine({
      trigger: () => {
        throw proxy;
      },
    }), "hostile");
    flow.addRoutine(routine({ trigger: () => {} }), "plain");
    const hostile = flow.execute("hostile");
    const plain = flow.execute("plain");
    await clock.advance(0);

    expect(hostile.status).toBe("failed");
    expect(onlyRecord(hostile, "error", "hostile").data.error).toEqual(expect.any(String));
    expect(plain.status).toBe("completed");
  });
});
