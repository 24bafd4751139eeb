import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, JobState, Routine, RoutiluxError, SimulatedClock } from "../../src/index.js";

class Gate extends Routine {
  release: () => void = () => undefined;
  settled = false;

  constructor() {
    super();
    this.defineSlot("trigger", this.wait);
    this.defineEvent("done");
  }

  async wait(): Promise<void> {
    await new Promise<void>((resolve) => (this.release = resolve));
    this.settled = true;
    this.emit("done");
  }
}

class Next extends Routine {
  runs = 0;

  constructor() {
    super();
    this.defineSlot("input", () => void this.runs++);
  }
}

describe("flow.shutdown()", () => {
  it("waits for running handlers, then schedules nothing more and refuses new jobs", async () => {
    const flow = new Flow({ flowId: "shutdown" });
    const gate = new Gate();
    const next = new Next();
    flow.addRoutine(gate, "gate");
    flow.addRoutine(next, "next");
    flow.connect("gate", "done", "next", "input");
    const job = flow.execute("gate");
    const waiting = JobState.waitForCompletion(flow, job);
    await new Promise((resolve) => setImmediate(resolve));

    let shutDown = false;
    const stopping = flow.shutdown().then(() => (shutDown = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(shutDown).toBe(false);
    gate.release();
    await stopping;

    expect(gate.settled).toBe(true);
    expect(next.runs).toBe(0);
    expect(job.status).toBe("running");
    expect(job.pendingTasks.map((t) => `${t.routineId}.${t.slotName}`)).toEqual(["next.input"]);
    // The job cannot rest in this process any more: its waiter is told so instead of waiting forever.
    await expect(waiting).resolves.toBe(false);
    expect(() => flow.execute("gate")).toThrow(RoutiluxError);
    expect(() => flow.execute("gate")).toThrow(/shut down/);
  });

  it("a waiter that comes after the shutdown let a running job go is told at once that it will not rest here", async () => {
    const flow = new Flow({ flowId: "late-waiter" });
    const gate = new Gate();
    flow.addRoutine(gate, "gate");
    flow.addRoutine(new Next(), "next");
    flow.connect("gate", "done", "next", "input");
    const job = flow.execute("gate");
    await new Promise((resolve) => setImmediate(resolve));
    const stopping = flow.shutdown();
    gate.release();
    await stopping;
    expect(job.status).toBe("running");

    const late = await Promise.race([
      JobState.waitForCompletion(flow, job),
      new Promise((resolve) => setTimeout(() => resolve("still waiting"), 50)),
    ]);
    expect(late).toBe(false);
    await expect(job.result()).rejects.toThrow(/runs on no flow in this process/);
  });

  it("a bad graceMs rejects the promise, like every control call, and the flow runs on", async () => {
    const flow = new Flow({ flowId: "bad-grace" });
    const gate = new Gate();
    flow.addRoutine(gate, "gate");
    let returned: Promise<void> | undefined;
    expect(() => (returned = flow.shutdown({ graceMs: -1 }))).not.toThrow();
    await expect(returned).rejects.toThrow(/graceMs/);
    const job = flow.execute("gate");
    await new Promise((resolve) => setImmediate(resolve));
    gate.release();
    expect(await JobState.waitForCompletion(flow, job)).toBe(true);
    expect(job.status).toBe("completed");
  });

  it("a second shutdown() resolves when the first has finished, not before", async () => {
    const flow = new Flow({ flowId: "twice" });
    const gate = new Gate();
    flow.addRoutine(gate, "gate");
    flow.execute("gate");
    await new Promise((resolve) => setImmediate(resolve));
    const order: string[] = [];
    const first = flow.shutdown().then(() => order.push("first"));
    const second = flow.shutdown().then(() => order.push("second"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    gate.release();
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
    expect(gate.settled).toBe(true);
  });

  it("clears a waiting retry's timer so nothing runs after it", async () => {
    const clock = new SimulatedClock();
    const flow = new Flow({ clock });
    let attempts = 0;
    class Flaky extends Routine {
      constructor() {
        super();
        this.defineSlot("trigger", () => {
          attempts++;
          throw new Error("flaky");
        });
      }
    }
    const flaky = new Flaky();
    flaky.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 100 }));
    flow.addRoutine(flaky, "flaky");
    const job = flow.execute("flaky");
    await clock.advance(0);
    expect(attempts).toBe(1);
    expect(clock.pendingTimers).toBe(1);

    await flow.shutdown();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1000);
    expect(attempts).toBe(1);
    expect(job.pendingTasks).toHaveLength(1);
    expect(job.pendingTasks[0]!.attempt).toBe(2);
  });
});
