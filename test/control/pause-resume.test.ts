import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Flow, JobState, JobStateError, RoutiluxError, type ExecutionContext, type Routine } from "../../src/index.js";
import { gate, rejectionOf, routine, signal, sleep, thrownBy, trace, workOf } from "../fixtures/testing.js";

/**
 * A random flow shape: routine i (i >= 1) is fed by routine parents[i] < i, plus optional extra
 * edges from earlier routines (fan-in). Each handler logs and emits `out` with a path.
 */
interface Shape {
  parents: number[];
  extra: Array<[number, number]>;
}

const shapeArb: fc.Arbitrary<Shape> = fc.integer({ min: 2, max: 7 }).chain((n) =>
  fc.record({
    parents: fc.tuple(...Array.from({ length: n - 1 }, (_, i) => fc.integer({ min: 0, max: i }))),
    extra: fc.array(fc.tuple(fc.integer({ min: 0, max: n - 2 }), fc.integer({ min: 1, max: n - 1 })), { maxLength: 3 }),
  }),
).map(({ parents, extra }) => ({
  parents: [-1, ...parents],
  extra: extra.filter(([from, to]) => from < to && parents[to - 1] !== from)
    .filter(([from, to], i, all) => all.findIndex(([f, t]) => f === from && t === to) === i),
}));

/** What a handler does at one activation (its count in this flow instance is given). */
type Hook = (activation: number, ctx: ExecutionContext) => void | Promise<void>;

function buildShapeFlow(shape: Shape, hook: Hook = () => undefined): Flow {
  const flow = new Flow({ flowId: "shape" });
  let activations = 0;
  const body = async (data: Record<string, unknown>, ctx: ExecutionContext, self: Routine): Promise<void> => {
    const n = ++activations;
    const path = typeof data.path === "string" ? data.path : "";
    ctx.jobState.appendToSharedLog(`${ctx.routineId}:${path}`);
    ctx.jobState.updateSharedData("last", ctx.routineId);
    await hook(n, ctx);
    self.emit("out", { path: `${path}/${ctx.routineId}` });
  };
  shape.parents.forEach((_, i) => {
    flow.addRoutine(routine(i === 0 ? { trigger: body } : { in: body }, ["out"]), `r${i}`);
  });
  shape.parents.forEach((parent, i) => {
    if (i > 0) flow.connect(`r${parent}`, "out", `r${i}`, "in");
  });
  for (const [from, to] of shape.extra) flow.connect(`r${from}`, "out", `r${to}`, "in");
  return flow;
}

async function uninterrupted(shape: Shape): Promise<JobState> {
  const flow = buildShapeFlow(shape);
  const job = flow.execute("r0", { entryParams: { path: "" } });
  expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
  expect(job.status).toBe("completed");
  return job;
}

describe("pause mid-run, then resume", () => {
  it("gives the same history as an uninterrupted run, whichever activation it pauses at, from outside or inside, moved or not", async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.nat(), fc.constantFrom("outside", "inside"), fc.boolean(), async (shape, pick, where, move) => {
        const reference = await uninterrupted(shape);
        const total = reference.sharedLog.length;
        const at = (pick % total) + 1;

        const started = signal();
        const release = gate();
        let flow = buildShapeFlow(shape, async (n, ctx) => {
          if (n !== at) return;
          if (where === "inside") {
            await ctx.flow.pause(ctx.jobState, { reason: "inside", checkpoint: { at } });
          } else {
            started.resolve();
            await release.wait;
          }
        });
        let job = flow.execute("r0", { entryParams: { path: "" } });
        if (where === "outside") {
          await started.promise;
          const paused = flow.pause(job, { reason: "outside", checkpoint: { at } });
          expect(job.status).toBe("paused");
          release.open();
          await paused;
        } else {
          expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
        }
        expect(job.status).toBe("paused");
        expect(job.pausePoints.map((p) => p.checkpoint)).toEqual([{ at }]);
        // Only what ran before the pause has run.
        expect(job.sharedLog).toEqual(reference.sharedLog.slice(0, at));

        if (move) {
          // Through a document onto another Flow instance with the same flowId and routine ids.
          job = JobState.fromDocument(JSON.parse(JSON.stringify(job.serialize())));
          flow = buildShapeFlow(shape);
        }
        expect(flow.resume(job)).toBe(job);
        expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
        expect(job.status).toBe("completed");
        expect(workOf(job.executionHistory)).toEqual(workOf(reference.executionHistory));
        expect(job.sharedLog).toEqual(reference.sharedLog);
        expect(trace(job.executionHistory).filter((t) => t.endsWith("-> paused"))).toHaveLength(1);
        expect(trace(job.executionHistory).filter((t) => t.endsWith("-> resumed"))).toHaveLength(1);
      }),
      { numRuns: 60 },
    );
  });

  it("a paused job keeps its queued tasks in pendingTasks and runs none of them until resumed", async () => {
    const release = gate();
    const started = signal();
    const ran: string[] = [];
    const flow = new Flow({ flowId: "fan" });
    flow.addRoutine(routine({
      trigger: async (_d, _c, self) => {
        ran.push("src");
        started.resolve();
        await release.wait;
        self.emit("out", { x: 1 });
      },
    }, ["out"]), "src");
    for (const id of ["a", "b", "c"]) {
      flow.addRoutine(routine({ in: () => void ran.push(id) }), id);
      flow.connect("src", "out", id, "in");
    }
    const job = flow.execute("src");
    await started.promise;
    const paused = flow.pause(job, { reason: "hold" });
    release.open();
    await paused;
    expect(job.pendingTasks.map((t) => t.routineId)).toEqual(["a", "b", "c"]);
    expect(ran).toEqual(["src"]);
    // Pausing again is a no-op; waiting on a paused job resolves at once.
    await flow.pause(job);
    expect(job.pausePoints).toHaveLength(1);
    expect(await JobState.waitForCompletion(flow, job)).toBe(true);
    expect(ran).toEqual(["src"]);

    flow.resume(job);
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(ran).toEqual(["src", "a", "b", "c"]);
    expect(job.pendingTasks).toEqual([]);
  });

  it("pause from a handler waits for the job's other in-flight handlers, but not for itself", async () => {
    const flow = new Flow({ flowId: "concurrent-pause", executionStrategy: "concurrent", maxWorkers: 3 });
    const release = gate();
    const slowStarted = signal();
    let slowDone = false;
    let slowDoneWhenPauseReturned: boolean | undefined;
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      in: async () => {
        slowStarted.resolve();
        await release.wait;
        slowDone = true;
      },
    }), "slow");
    flow.addRoutine(routine({
      in: async (_d, ctx) => {
        await slowStarted.promise;
        const pausing = ctx.flow.pause(ctx.jobState, { reason: "from pauser" });
        release.open();
        await pausing;
        slowDoneWhenPauseReturned = slowDone;
      },
    }), "pauser");
    flow.connect("src", "out", "slow", "in");
    flow.connect("src", "out", "pauser", "in");
    const job = flow.execute("src");
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("paused");
    expect(slowDoneWhenPauseReturned).toBe(true);
    expect(job.routineStates.pauser?.status).toBe("completed");
    expect(job.pendingTasks).toEqual([]);
  });
});

describe("a handler that fails for good while its job is paused", () => {
  it("fails the job, dropping its queued tasks, and the pause from outside resolves", async () => {
    const flow = new Flow({ flowId: "fail-while-paused", executionStrategy: "concurrent", maxWorkers: 1 });
    const release = gate();
    const started = signal();
    const ran: string[] = [];
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
    flow.addRoutine(routine({
      in: async () => {
        started.resolve();
        await release.wait;
        throw new Error("broken for good");
      },
    }, ["next"]), "doomed");
    flow.addRoutine(routine({ in: () => void ran.push("later") }), "later");
    flow.connect("src", "out", "doomed", "in");
    flow.connect("src", "out", "later", "in");
    flow.connect("doomed", "next", "later", "in");
    const job = flow.execute("src");
    await started.promise;
    const pausing = flow.pause(job);
    expect(job.status).toBe("paused");
    expect(job.pendingTasks.map((t) => t.routineId)).toEqual(["later"]);
    release.open();
    expect(await Promise.race([pausing.then(() => "paused"), sleep(1000).then(() => "still pausing")])).toBe("paused");
    expect(job.status).toBe("failed");
    expect(job.pendingTasks).toEqual([]);
    expect(job.executionHistory.at(-1)?.data).toMatchObject({ routineId: "doomed", droppedTasks: 1 });
    expect(ran).toEqual([]);
    expect(trace(job.executionHistory)).toEqual([
      "src -> start", "src -> out", "fail-while-paused -> paused", "doomed -> error", "fail-while-paused -> failed",
    ]);
    const result = await job.result();
    expect(result).toMatchObject({ status: "failed", error: { routineId: "doomed", message: "broken for good" } });
    expect(() => flow.resume(job)).toThrow(JobStateError);
  });
});

describe("resume refuses what it cannot resume", () => {
  function simpleFlow(flowId = "simple", fail = false): Flow {
    const flow = new Flow({ flowId });
    flow.addRoutine(routine({
      trigger: () => {
        if (fail) throw new Error("boom");
      },
    }), "only");
    return flow;
  }

  it.each(["completed", "failed", "cancelled"] as const)("resuming a %s job throws, naming the status and the job", async (status) => {
    const flow = simpleFlow("ending", status === "failed");
    const job = flow.execute("only");
    if (status === "cancelled") await flow.cancel(job, { reason: "test" });
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe(status);
    const before = job.serialize();
    const error = thrownBy(() => flow.resume(job));
    expect(error).toBeInstanceOf(JobStateError);
    expect(error.message).toContain(`it is ${status}`);
    expect(error.message).toContain(job.jobId);
    expect(job.serialize()).toEqual(before);

    // The same for a copy read from its document, on a new flow instance.
    const copy = JobState.fromDocument(JSON.parse(JSON.stringify(before)));
    expect(thrownBy(() => simpleFlow("ending").resume(copy)).message).toContain(`it is ${status}`);
  });

  it("a JobState of another flow is rejected by resume, pause and cancel, naming both flows", async () => {
    const mine = simpleFlow("mine");
    const other = simpleFlow("other");
    const job = mine.execute("only");
    await mine.pause(job);
    const before = job.serialize();
    const error = thrownBy(() => other.resume(job));
    expect(error).toBeInstanceOf(JobStateError);
    expect(error.message).toContain("'mine'");
    expect(error.message).toContain("'other'");
    expect((await rejectionOf(other.pause(job))).message).toContain("'other'");
    expect((await rejectionOf(other.cancel(job))).message).toContain("'other'");
    expect(job.serialize()).toEqual(before);
    expect(job.status).toBe("paused");

    const moved = JobState.fromDocument({ ...before, flowId: "elsewhere" });
    expect(thrownBy(() => mine.resume(moved))).toBeInstanceOf(JobStateError);
    mine.resume(job);
    expect(await JobState.waitForCompletion(mine, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("completed");
  });

  it("a job whose pending task names a routine the flow lacks is refused and stays paused", async () => {
    const flow = simpleFlow("lacking");
    const job = flow.execute("only");
    await flow.pause(job);
    const doc = job.serialize();
    doc.pendingTasks = [{ ...doc.pendingTasks[0]!, routineId: "ghost" }];
    const copy = JobState.fromDocument(doc);
    const error = thrownBy(() => flow.resume(copy));
    expect(error).toBeInstanceOf(JobStateError);
    expect(error.message).toContain("'ghost.trigger'");
    expect(copy.status).toBe("paused");
  });

  it("pause refuses a job that has ended, and anything that is not a JobState", async () => {
    const flow = simpleFlow("ended");
    const job = flow.execute("only");
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect((await rejectionOf(flow.pause(job))).message).toContain("it is completed");
    expect(thrownBy(() => flow.resume({} as JobState))).toBeInstanceOf(RoutiluxError);
  });
});
