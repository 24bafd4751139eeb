// setAsOptional (CONTINUE or SKIP) and setAsCritical (RETRY; exhausting the retries fails the job).
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, SimulatedClock, type Routine } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";
import { TransientError, onlyRecord, recordsOf, runToRest, sink } from "./helpers.js";

/**
 * src --out--> target --out--> after, and src --out--> sibling. `target` fails while
 * `fails(attempt)` holds, else emits `out`.
 */
function build(configure: (target: Routine) => void, fails: (attempt: number) => boolean, flowHandler?: ErrorHandler) {
  const clock = new SimulatedClock();
  const flow = new Flow({ clock, ...(flowHandler === undefined ? {} : { errorHandler: flowHandler }) });
  const ran: string[] = [];
  const attempts: number[] = [];
  const target = routine({
    input: (_d, ctx, self) => {
      attempts.push(ctx.attempt);
      if (fails(ctx.attempt)) throw new TransientError(`attempt ${ctx.attempt}`);
      self.emit("out");
    },
  }, ["out"]);
  configure(target);
  flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
  flow.addRoutine(target, "target");
  flow.addRoutine(sink(ran, "after"), "after");
  flow.addRoutine(sink(ran, "sibling"), "sibling");
  flow.connect("src", "out", "target", "input");
  flow.connect("target", "out", "after", "input");
  flow.connect("src", "out", "sibling", "input");
  return { clock, flow, ran, attempts, target };
}

describe("optional routines", () => {
  it("setAsOptional() continues by default: the routine is error_continued and the job completes", async () => {
    const { clock, flow, ran, target } = build((t) => t.setAsOptional(), () => true);
    const job = await runToRest(clock, flow.execute("src"));

    expect(target.getErrorHandler()?.strategy).toBe("continue");
    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("error_continued");
    expect(ran).toEqual(["sibling"]);
    expect(onlyRecord(job, "error", "target").data).toMatchObject({ error: "attempt 1", errorType: "TransientError", attempt: 1 });
  });

  it("setAsOptional(\"skip\") skips: the routine is skipped and the job completes", async () => {
    const { clock, flow, ran, target } = build((t) => t.setAsOptional("skip"), () => true);
    const job = await runToRest(clock, flow.execute("src"));

    expect(target.getErrorHandler()?.strategy).toBe("skip");
    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("skipped");
    expect(recordsOf(job, "skipped", "target")).toHaveLength(1);
    expect(ran).toEqual(["sibling"]);
  });

  it("an optional routine is not failed even when the flow's handler says STOP", async () => {
    const { clock, flow } = build((t) => t.setAsOptional(), () => true, new ErrorHandler({ strategy: ErrorStrategy.STOP }));
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("completed");
  });

  it("an optional routine that succeeds delivers as usual", async () => {
    const { clock, flow, ran } = build((t) => t.setAsOptional(), () => false);
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("completed");
    expect(ran).toEqual(["sibling", "after"]);
  });

  it("an optional entry routine's failure does not fail the job", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const entry = routine({
      trigger: () => {
        throw new Error("entry failed");
      },
    });
    entry.setAsOptional();
    flow.addRoutine(entry, "entry");
    const job = await runToRest(clock, flow.execute("entry"));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("entry")?.status).toBe("error_continued");
  });
});

describe("critical routines", () => {
  it("setAsCritical gives a critical RETRY handler with the options given", () => {
    const { target } = build((t) => t.setAsCritical({ maxRetries: 4, retryDelayMs: 20, retryBackoff: 3 }), () => false);

    expect(target.getErrorHandler()).toMatchObject({ strategy: "retry", isCritical: true, maxRetries: 4, retryDelayMs: 20, retryBackoff: 3 });
  });

  it("a critical routine that recovers within its retries lets the job complete", async () => {
    const critical = (t: Routine): void => t.setAsCritical({ maxRetries: 2, retryDelayMs: 10, retryBackoff: 3 });
    const { clock, flow, ran, attempts } = build(critical, (a) => a <= 2);
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("completed");
    expect(attempts).toEqual([1, 2, 3]);
    expect(recordsOf(job, "retry", "target").map((r) => r.data.delayMs)).toEqual([10, 30]);
    expect(ran).toEqual(["sibling", "after"]);
  });

  it("a critical routine that exhausts its retries fails the job, even under a flow-level CONTINUE", async () => {
    const flowHandler = new ErrorHandler({ strategy: ErrorStrategy.CONTINUE });
    const { clock, flow, ran, attempts } = build((t) => t.setAsCritical({ maxRetries: 2, retryDelayMs: 10 }), () => true, flowHandler);
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("failed");
    expect(job.getRoutineState("target")?.status).toBe("failed");
    expect(attempts).toEqual([1, 2, 3]);
    expect(recordsOf(job, "error", "target")).toHaveLength(3);
    expect(ran).toEqual(["sibling"]);
  });

  it("a critical routine's error records say it is critical", async () => {
    const { clock, flow } = build((t) => t.setAsCritical({ maxRetries: 1, retryDelayMs: 10 }), () => true);
    const job = await runToRest(clock, flow.execute("src"));

    expect(recordsOf(job, "error", "target").map((r) => r.data.critical)).toEqual([true, true]);
  });

  it("a critical routine's exhaustion drops the job's other queued work", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, maxWorkers: 1 });
    const ran: string[] = [];
    const gate = routine({
      trigger: (_d, _c, self) => {
        self.emit("out");
        throw new Error("gate closed");
      },
    }, ["out"]);
    gate.setAsCritical({ maxRetries: 1, retryDelayMs: 10 });
    flow.addRoutine(gate, "gate");
    flow.addRoutine(sink(ran, "after"), "after");
    flow.connect("gate", "out", "after", "input");
    const job = await runToRest(clock, flow.execute("gate"));

    expect(job.status).toBe("failed");
    expect(ran).toEqual([]);
  });

  it("setAsCritical without options retries with the ErrorHandler defaults", () => {
    const r = routine({ trigger: () => {} });
    r.setAsCritical();

    expect(r.getErrorHandler()).toMatchObject({ strategy: "retry", isCritical: true, maxRetries: 3, retryDelayMs: 100, retryBackoff: 2 });
  });
});
