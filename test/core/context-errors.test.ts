// emit, sendOutput and emitDeferredEvent work only inside a job, and only for defined events.
import { describe, expect, it } from "vitest";
import { Flow, JobState, Routine, RoutiluxError } from "../../src/index.js";
import { routine, thrownBy } from "../fixtures/testing.js";

class Talker extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger");
    this.defineEvent("output");
    this.defineEvent("progress");
  }
}

describe("outside a job", () => {
  it.each([
    ["emit", (r: Routine) => r.emit("output", { v: 1 })],
    ["sendOutput", (r: Routine) => r.sendOutput("status", { v: 1 })],
    ["emitDeferredEvent", (r: Routine) => r.emitDeferredEvent("output", { v: 1 })],
  ] as const)("%s throws a RoutiluxError saying it works only inside a job", (name, call) => {
    const talker = new Talker();
    const error = thrownBy(() => call(talker));

    expect(error).toBeInstanceOf(RoutiluxError);
    expect(error.message).toContain(`${name}()`);
    expect(error.message).toContain("outside a job");
    expect(error.message).toContain(talker.id);
  });

  it("emit throws outside a job even for a routine that is part of a flow whose job has ended", async () => {
    const talker = new Talker();
    const flow = new Flow();
    flow.addRoutine(talker, "talker");
    const job = flow.execute("talker");
    await JobState.waitForCompletion(flow, job);

    expect(thrownBy(() => talker.emit("output")).message).toContain("outside a job");
  });

  it("getExecutionContext returns undefined", () => {
    expect(new Talker().getExecutionContext()).toBeUndefined();
  });
});

describe("inside a job", () => {
  async function errorInside(call: (self: Routine) => void): Promise<{ error: unknown; job: JobState }> {
    let error: unknown;
    const flow = new Flow({ flowId: "ctx" });
    flow.addRoutine(routine({
      trigger: (_data, _ctx, self) => {
        try {
          call(self);
        } catch (e) {
          error = e;
        }
      },
    }, ["output", "progress"]), "talker");
    const job = flow.execute("talker");
    await JobState.waitForCompletion(flow, job);
    return { error, job };
  }

  it("emit of an undefined event throws, naming it and the routine's events", async () => {
    const { error, job } = await errorInside((self) => self.emit("outptu", { v: 1 }));

    expect(error).toBeInstanceOf(RoutiluxError);
    const message = (error as Error).message;
    expect(message).toContain("'outptu'");
    expect(message).toContain("output, progress");
    expect(message).toContain("Did you mean 'output'?");
    // Nothing was recorded or sent for the bad emit.
    expect(job.executionHistory.some((r) => r.eventName === "outptu")).toBe(false);
  });

  it("emitDeferredEvent of an undefined event throws, naming it and the routine's events", async () => {
    const { error, job } = await errorInside((self) => self.emitDeferredEvent("later", {}));

    expect(error).toBeInstanceOf(RoutiluxError);
    expect((error as Error).message).toContain("'later'");
    expect((error as Error).message).toContain("output, progress");
    expect(job.deferredEvents).toHaveLength(0);
  });

  it("an emit of an undefined event that the handler does not catch fails the job with that message", async () => {
    const flow = new Flow({ flowId: "ctx" });
    flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("nope") }, ["output"]), "talker");
    const job = flow.execute("talker");
    await JobState.waitForCompletion(flow, job);

    expect(job.status).toBe("failed");
    const error = job.getExecutionHistory("talker").find((r) => r.eventName === "error");
    expect(error?.data.errorType).toBe("RoutiluxError");
    expect(String(error?.data.error)).toContain("'nope'");
  });

  it("emitDeferredEvent inside a job stores the event in the JobState", async () => {
    const { error, job } = await errorInside((self) => self.emitDeferredEvent("output", { question: "What is your name?" }));

    expect(error).toBeUndefined();
    expect(job.deferredEvents).toEqual([{ routineId: "talker", eventName: "output", data: { question: "What is your name?" } }]);
  });

  it("a routine that is not part of the job's flow cannot emit in it", async () => {
    const stranger = new Talker();
    const { error } = await errorInside(() => stranger.emit("output"));

    expect(error).toBeInstanceOf(RoutiluxError);
    expect((error as Error).message).toContain(stranger.id);
    expect((error as Error).message).toContain("'ctx'");
  });
});
