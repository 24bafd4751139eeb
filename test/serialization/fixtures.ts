// A job with something in every part of its state, built by a real run on a simulated clock, and
// the flow that made it. Used by the round-trip and malformed-document tests.
import { ErrorHandler, Flow, SimulatedClock, type JobState, type Routine } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";

export const RICH_FLOW_ID = "rich";
export const RETRY_DELAY_MS = 1000;

/** Calls of each routine's handler, per flow instance. */
export type Calls = Record<string, number>;

/**
 * src -out-> app (append merge), cus (custom merge), flaky (fails its first attempt, retried
 * after 1 s), ask (stores a deferred event "answered") ; ask -answered-> fin -done-> app.
 */
export function buildRichFlow(clock: SimulatedClock): { flow: Flow; calls: Calls } {
  const calls: Calls = {};
  const count = (id: string): void => {
    calls[id] = (calls[id] ?? 0) + 1;
  };
  const flow = new Flow({ flowId: RICH_FLOW_ID, clock });
  const src = routine({
    trigger: (data, ctx, self) => {
      count("src");
      ctx.jobState.updateRoutineState(ctx.routineId, { custom: "value", nested: { list: [1, 2, 3] } });
      ctx.jobState.updateSharedData("items", ["a", "b"]);
      ctx.jobState.updateSharedData("count", 2);
      ctx.jobState.appendToSharedLog({ action: "start", input: data });
      ctx.jobState.appendToSharedLog("plain entry");
      self.sendOutput("status", { progress: 50, status: "in_progress" });
      self.emit("out", { v: 1, n: 2 });
      self.emit("out", { v: 2, n: 3 });
    },
  }, ["out"]);
  const app = routine({
    in: {
      mergeStrategy: "append",
      handler: (data, ctx) => {
        count("app");
        ctx.jobState.updateSharedData("appended", data);
      },
    },
  });
  const cus = routine({
    in: {
      mergeStrategy: (previous, incoming) => ({ total: Number(previous.total ?? 0) + Number(incoming.n), last: incoming.v }),
      handler: (data, ctx) => {
        count("cus");
        ctx.jobState.updateSharedData("total", data.total);
      },
    },
  });
  const flaky = routine({
    in: (data, ctx) => {
      count("flaky");
      if (ctx.attempt === 1) throw new TypeError(`flaky failure for v=${String(data.v)}`);
      ctx.jobState.appendToSharedLog({ action: "flaky ok", attempt: ctx.attempt, v: data.v });
    },
  });
  flaky.setErrorHandler(new ErrorHandler({ strategy: "retry", maxRetries: 2, retryDelayMs: RETRY_DELAY_MS, retryBackoff: 2 }));
  const ask = routine({
    in: (data, _ctx, self) => {
      count("ask");
      if (data.v === 1) self.emitDeferredEvent("answered", { question: "Continue?", v: data.v });
    },
  }, ["answered"]);
  const fin = routine({
    in: (data, ctx, self) => {
      count("fin");
      self.sendOutput("final", { answer: ctx.jobState.getSharedData("answer", null), question: data.question });
      self.emit("done", { v: 99 });
    },
  }, ["done"]);
  const add = (r: Routine, id: string): void => {
    flow.addRoutine(r, id);
  };
  add(src, "src");
  add(app, "app");
  add(cus, "cus");
  add(flaky, "flaky");
  add(ask, "ask");
  add(fin, "fin");
  flow.connect("src", "out", "app", "in");
  flow.connect("src", "out", "cus", "in");
  flow.connect("src", "out", "flaky", "in");
  flow.connect("src", "out", "ask", "in");
  flow.connect("ask", "answered", "fin", "in");
  flow.connect("fin", "done", "app", "in");
  return { flow, calls };
}

/**
 * Runs the rich flow until everything but the two waiting retries has run, then pauses it from
 * outside with a checkpoint. The job then holds: history, routine states (with custom fields),
 * a pause point with its checkpoint, a deferred event, two retries waiting with `notBefore`,
 * slot buffers of an append and a custom merge, shared data and log, outputs and metadata.
 */
export async function richPausedJob(): Promise<{ flow: Flow; job: JobState; clock: SimulatedClock; calls: Calls }> {
  const clock = new SimulatedClock();
  const { flow, calls } = buildRichFlow(clock);
  const job = flow.execute("src", { entryParams: { user: "ada", tags: ["x", "y"] }, metadata: { requestId: "r-1", tries: 3 }, timeoutMs: 60_000 });
  // Only timers are left once the engine has had a turn: the retries wait for the clock.
  await clock.advance(0);
  await flow.pause(job, { reason: "inspect", checkpoint: { step: "after-fan-out", seen: [1, 2] } });
  return { flow, job, clock, calls };
}
