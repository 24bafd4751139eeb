// Each error strategy, set on the flow or on the routine, for the entry routine and for a middle
// routine: one dispatch path and one policy for every slot activation.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, SimulatedClock, type JobState, type Routine } from "../../src/index.js";
import { routine, trace } from "../fixtures/testing.js";
import { onlyRecord, recordsOf, runToRest, sink } from "./helpers.js";

type Level = "flow" | "routine";
type Position = "entry" | "middle";

class Boom extends Error {
  override name = "Boom";
}

interface Scenario {
  flow: Flow;
  clock: SimulatedClock;
  target: Routine;
  /** Names of the routines that ran, in order ("target" once per attempt). */
  ran: string[];
  /** The attempts the target saw (ctx.attempt). */
  attempts: number[];
}

/**
 * entry:  target(trigger) --out--> after
 * middle: src(trigger) --out--> target(input) --out--> after, and src --out--> sibling
 * The target emits `out`, then throws on its first `failures` attempts.
 */
function scenario(position: Position, level: Level, handler: ErrorHandler | undefined, failures = Infinity): Scenario {
  const clock = new SimulatedClock();
  const flow = new Flow({ clock, ...(level === "flow" && handler !== undefined ? { errorHandler: handler } : {}) });
  const ran: string[] = [];
  const attempts: number[] = [];
  const slot = position === "entry" ? "trigger" : "input";
  const target = routine({
    [slot]: (_data, ctx, self) => {
      ran.push("target");
      attempts.push(ctx.attempt);
      self.emit("out", { from: "target" });
      if (attempts.length <= failures) throw new Boom(`target failed on attempt ${ctx.attempt}`);
    },
  }, ["out"]);
  if (level === "routine") target.setErrorHandler(handler);
  flow.addRoutine(target, "target");
  flow.addRoutine(sink(ran, "after"), "after");
  flow.connect("target", "out", "after", "input");
  if (position === "middle") {
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out", {}) }, ["out"]), "src");
    flow.addRoutine(sink(ran, "sibling"), "sibling");
    flow.connect("src", "out", "target", "input");
    flow.connect("src", "out", "sibling", "input");
  }
  return { flow, clock, target, ran, attempts };
}

function start(s: Scenario, position: Position): JobState {
  return s.flow.execute(position === "entry" ? "target" : "src");
}

const matrix: Array<[Position, Level]> = [
  ["entry", "flow"],
  ["entry", "routine"],
  ["middle", "flow"],
  ["middle", "routine"],
];

describe.each(matrix)("a failing %s routine with the handler on the %s", (position, level) => {
  const slot = position === "entry" ? "trigger" : "input";

  it("STOP fails the routine and the job and drops the job's queued tasks", async () => {
    const s = scenario(position, level, new ErrorHandler({ strategy: ErrorStrategy.STOP }));
    const job = await runToRest(s.clock, start(s, position));

    expect(job.status).toBe("failed");
    expect(job.getRoutineState("target")?.status).toBe("failed");
    expect(s.ran).toEqual(["target"]);
    expect(onlyRecord(job, "error", "target").data).toMatchObject({ slot, error: "target failed on attempt 1", errorType: "Boom", attempt: 1 });
    // In the middle, the sibling's task was queued behind the target's and is dropped.
    expect(onlyRecord(job, "failed").data).toMatchObject({ routineId: "target", droppedTasks: position === "middle" ? 1 : 0 });
    expect(recordsOf(job, "retry")).toEqual([]);
  });

  it("CONTINUE marks the routine error_continued and the job goes on to complete", async () => {
    const s = scenario(position, level, new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    const job = await runToRest(s.clock, start(s, position));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("error_continued");
    // The failed activation's emit is not delivered; the rest of the job runs.
    expect(s.ran).toEqual(position === "middle" ? ["target", "sibling"] : ["target"]);
    expect(onlyRecord(job, "error", "target").data).toMatchObject({ slot, error: "target failed on attempt 1", errorType: "Boom", attempt: 1 });
  });

  it("SKIP marks the routine skipped, records the skip, and the job goes on to complete", async () => {
    const s = scenario(position, level, new ErrorHandler({ strategy: ErrorStrategy.SKIP }));
    const job = await runToRest(s.clock, start(s, position));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("skipped");
    expect(s.ran).toEqual(position === "middle" ? ["target", "sibling"] : ["target"]);
    expect(trace(job.getExecutionHistory("target")).filter((t) => !t.endsWith("-> out") && !t.endsWith("-> start"))).toEqual([
      "target -> error",
      "target -> skipped",
    ]);
  });

  it("RETRY runs the same activation again and the job completes once it succeeds", async () => {
    const s = scenario(position, level, new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 50 }), 1);
    const job = await runToRest(s.clock, start(s, position));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("completed");
    expect(s.attempts).toEqual([1, 2]);
    // The sibling does not wait for the retry; `after` gets the successful attempt's emit only.
    expect(s.ran).toEqual(position === "middle" ? ["target", "sibling", "target", "after"] : ["target", "target", "after"]);
    expect(onlyRecord(job, "retry", "target").data).toMatchObject({ slot, attempt: 2, delayMs: 50 });
  });
});

describe("precedence: the routine's handler, else the flow's, else STOP", () => {
  it("without any handler a failure stops the job", async () => {
    const s = scenario("middle", "flow", undefined);
    const job = await runToRest(s.clock, start(s, "middle"));

    expect(job.status).toBe("failed");
    expect(job.getRoutineState("target")?.status).toBe("failed");
    expect(s.ran).toEqual(["target"]);
  });

  it("without any handler a failing entry routine stops the job", async () => {
    const s = scenario("entry", "flow", undefined);
    const job = await runToRest(s.clock, start(s, "entry"));

    expect(job.status).toBe("failed");
    expect(job.getRoutineState("target")?.status).toBe("failed");
  });

  it("the routine's STOP wins over the flow's CONTINUE", async () => {
    const s = scenario("middle", "flow", new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    s.target.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.STOP }));
    const job = await runToRest(s.clock, start(s, "middle"));

    expect(job.status).toBe("failed");
    expect(s.ran).toEqual(["target"]);
  });

  it("the routine's SKIP wins over the flow's STOP", async () => {
    const s = scenario("entry", "flow", new ErrorHandler({ strategy: ErrorStrategy.STOP }));
    s.target.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.SKIP }));
    const job = await runToRest(s.clock, start(s, "entry"));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("skipped");
  });

  it("the flow's handler applies to routines without their own, not to those with one", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock, errorHandler: new ErrorHandler({ strategy: ErrorStrategy.SKIP }) });
    const fail = (): never => {
      throw new Boom("no");
    };
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    const own = routine({ input: fail });
    own.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    flow.addRoutine(own, "own");
    flow.addRoutine(routine({ input: fail }), "inherits");
    flow.connect("src", "out", "own", "input");
    flow.connect("src", "out", "inherits", "input");
    const job = await runToRest(clock, flow.execute("src"));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("own")?.status).toBe("error_continued");
    expect(job.getRoutineState("inherits")?.status).toBe("skipped");
  });

  it("one routine's handler does not cover another routine", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const ran: string[] = [];
    const careful = routine({
      trigger: (_d, _c, self) => {
        self.emit("out");
        throw new Boom("entry");
      },
    }, ["out"]);
    careful.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    flow.addRoutine(careful, "careful");
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      input: () => {
        throw new Boom("middle");
      },
    }), "bare");
    flow.addRoutine(sink(ran, "later"), "later");
    flow.connect("src", "out", "bare", "input");
    flow.connect("src", "out", "later", "input");
    const first = await runToRest(clock, flow.execute("careful"));
    const second = await runToRest(clock, flow.execute("src"));

    expect(first.status).toBe("completed");
    expect(second.status).toBe("failed");
    expect(second.getRoutineState("bare")?.status).toBe("failed");
    expect(ran).toEqual([]);
  });

  it("removing the routine's handler falls back to the flow's", async () => {
    const s = scenario("middle", "flow", new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    s.target.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.STOP }));
    s.target.setErrorHandler(undefined);
    const job = await runToRest(s.clock, start(s, "middle"));

    expect(job.status).toBe("completed");
    expect(job.getRoutineState("target")?.status).toBe("error_continued");
  });

  it("a flow handler set after construction applies to the next job", async () => {
    const s = scenario("entry", "flow", undefined);
    const before = await runToRest(s.clock, start(s, "entry"));
    s.flow.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.SKIP }));
    const after = await runToRest(s.clock, start(s, "entry"));

    expect(before.status).toBe("failed");
    expect(after.status).toBe("completed");
    expect(after.getRoutineState("target")?.status).toBe("skipped");
  });
});

describe("failures outside the handler body take the same path", () => {
  it("a merge strategy function that throws is an ordinary failure of the activation", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    const calls: number[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out", { v: 1 }) }, ["out"]), "src");
    const r = routine({});
    r.defineSlot("input", () => void calls.push(1), {
      mergeStrategy: () => {
        throw new Boom("merge failed");
      },
    });
    r.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.CONTINUE }));
    flow.addRoutine(r, "merger");
    flow.connect("src", "out", "merger", "input");
    const job = await runToRest(clock, flow.execute("src"));

    expect(calls).toEqual([]);
    expect(job.status).toBe("completed");
    expect(job.getRoutineState("merger")?.status).toBe("error_continued");
    expect(onlyRecord(job, "error", "merger").data).toMatchObject({ slot: "input", error: "merge failed", errorType: "Boom", attempt: 1 });
  });
});
