// Model-based test of the engine under random interleavings: two or three jobs of one concurrent
// flow on a SimulatedClock, driven by fast-check commands: start, release a blocked handler (to
// succeed, throw, emit children, ask for input, or make a control call from inside), pause,
// resume, cancel, job.deserialize, waits, results, answers, shutdown and the clock. A handler may
// make several control calls in a row (pause, resume, then cancel its own job, say). After every
// command the harness checks its invariants (see test/fixtures/interleavings.ts); at the end every
// handler is released and every public promise must have settled.
//
// A failure prints fast-check's seed and counterexample path; replay it with
//   MODEL_SEED=<seed> MODEL_PATH=<path> MODEL_REPLAY=<replayPath> npx vitest run test/runtime/model-based.test.ts
// and explore other interleavings with MODEL_SEED=<any number> (MODEL_RUNS=<n> for more runs).
import fc from "fast-check";
import { afterEach, beforeEach, describe, it } from "vitest";
import { MemoryJobStore } from "../../src/index.js";
import { Harness, STATS, type Action, type ChildKind, type InsideControl } from "../fixtures/interleavings.js";
import { FaultyStore } from "../persistence/faulty-store.js";

const SEED = Number(process.env.MODEL_SEED ?? 20250101);
const PATH = process.env.MODEL_PATH;
const REPLAY = process.env.MODEL_REPLAY;
const RUNS = process.env.MODEL_RUNS === undefined ? undefined : Number(process.env.MODEL_RUNS);

// The harness is both the system and its model: it keeps what the test expects next to the flow.
type Command = fc.AsyncCommand<object, Harness>;

/** A command that may always run; the harness ignores what does not apply (no job, no blocked handler). */
function command(name: string, run: (h: Harness) => void | Promise<void>): Command {
  return {
    check: () => true,
    async run(_model, h) {
      await run(h);
      await h.step();
    },
    toString: () => name,
  };
}

const childArb: fc.Arbitrary<ChildKind> = fc.constantFrom<ChildKind>("gated", "gated", "syncOk", "syncThrowOnce", "later");

const controlArb: fc.Arbitrary<InsideControl> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<InsideControl>("none") },
  { weight: 1, arbitrary: fc.constantFrom<InsideControl>("pause", "cancel", "resume", "answer", "deserialize", "wait", "shutdown") },
);

/** Control calls a handler makes after its first one (pause, resume, cancel in a row, say). */
const thenArb: fc.Arbitrary<readonly InsideControl[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<InsideControl[]>([]) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom<InsideControl>("pause", "resume", "cancel", "answer"), { minLength: 1, maxLength: 2 }) },
);

const actionArb: fc.Arbitrary<Action> = fc.record({
  outcome: fc.constantFrom<Action["outcome"]>("ok", "ok", "ok", "throw", "throwValue"),
  children: fc.array(childArb, { maxLength: 3 }),
  ask: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  control: controlArb,
  then: thenArb,
  target: fc.integer({ min: -1, max: 2 }),
});

function showAction(a: Action): string {
  const parts: string[] = [a.outcome];
  if (a.children.length > 0) parts.push(`children=${a.children.join("+")}`);
  if (a.ask) parts.push("ask");
  const controls = [a.control, ...(a.then ?? [])].join("+");
  if (a.control !== "none") parts.push(`${controls}(${a.target < 0 ? "own" : `job#${a.target}`})`);
  return parts.join(" ");
}

const jobPick = fc.nat({ max: 2 });

/** The commands, weighted: mostly handler releases, some control calls, a rare shutdown. */
function commandArb(withStore: boolean): fc.Arbitrary<Command> {
  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): fc.WeightedArbitrary<T> => ({ weight, arbitrary });
  const arbs: Array<fc.WeightedArbitrary<Command>> = [
    w(5, fc.tuple(fc.boolean(), fc.constantFrom<number | undefined>(undefined, undefined, 400, 1500)).map(([viaStart, timeoutMs]) =>
      command(`${viaStart ? "start" : "execute"}(${timeoutMs ?? "no limit"})`, (h) => h.execute(viaStart, timeoutMs)))),
    w(24, fc.tuple(fc.nat({ max: 5 }), actionArb).map(([pick, action]) =>
      command(`release(${pick}: ${showAction(action)})`, (h) => h.release(pick, action)))),
    w(8, jobPick.map((j) => command(`pause(${j})`, (h) => h.pause(j)))),
    w(8, jobPick.map((j) => command(`resume(${j})`, (h) => h.resume(j)))),
    w(1, jobPick.map((j) => command(`cancel(${j})`, (h) => h.cancel(j)))),
    w(4, jobPick.map((j) => command(`deserialize(${j})`, (h) => h.deserialize(j)))),
    w(2, jobPick.map((j) => command(`reload(${j})`, (h) => h.reload(j)))),
    w(3, fc.tuple(jobPick, fc.constantFrom<number | undefined>(undefined, 0, 30, 200)).map(([j, t]) =>
      command(`waitForCompletion(${j}, ${t ?? "no timeout"})`, (h) => h.wait(j, t)))),
    w(3, jobPick.map((j) => command(`result(${j})`, (h) => h.result(j)))),
    w(5, jobPick.map((j) => command(`answer(${j})`, (h) => h.answer(j, false)))),
    w(1, jobPick.map((j) => command(`answerEarly(${j})`, (h) => h.answer(j, true)))),
    w(8, fc.integer({ min: 1, max: 200 }).map((ms) => command(`advance(${ms})`, (h) => h.advance(ms)))),
    w(1, fc.boolean().map((awaited) => command(`shutdown(${awaited ? "awaited, no grace" : "long grace"})`, (h) => h.shutdown(awaited)))),
  ];
  if (withStore) {
    arbs.push(w(3, fc.integer({ min: 1, max: 2 }).map((n) => command(`failNextCommits(${n})`, (h) => h.failNextCommits(n)))));
  }
  return fc.oneof(...arbs);
}

/** Engine errors that escape to no caller land here, so they fail the run that caused them. */
let current: Harness | undefined;
const onUnhandled = (reason: unknown): void => {
  current?.violation(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
};

beforeEach(() => {
  process.on("unhandledRejection", onUnhandled);
});

afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
});

async function runModel(withStore: boolean, numRuns: number): Promise<void> {
  const property = fc.asyncProperty(
    fc.integer({ min: 2, max: 3 }),
    fc.integer({ min: 2, max: 3 }),
    fc.commands([commandArb(withStore)], { maxCommands: 30, size: "max", ...(REPLAY === undefined ? {} : { replayPath: REPLAY }) }),
    async (maxWorkers, maxJobs, commands) => {
      const store = withStore ? new FaultyStore(new MemoryJobStore()) : undefined;
      const h = new Harness({ maxWorkers, maxJobs, ...(store === undefined ? {} : { store }) });
      current = h;
      try {
        // Every run starts with one job; the commands may start more.
        h.execute(false, undefined);
        await fc.asyncModelRun(() => ({ model: {}, real: h }), commands);
        await h.finish();
      } finally {
        current = undefined;
        await h.dispose();
      }
    },
  );
  STATS.clear();
  try {
    await fc.assert(property, { numRuns: RUNS ?? numRuns, seed: SEED, ...(PATH === undefined ? {} : { path: PATH }) });
  } finally {
    if (process.env.MODEL_DEBUG !== undefined) console.log([...STATS].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${n}\t${key}`).join("\n"));
  }
}

describe("the engine under random interleavings (model-based)", () => {
  it("keeps every promise of jobs in one concurrent flow, in memory", async () => {
    await runModel(false, 600);
  }, 120_000);

  it("keeps every promise of jobs in one concurrent flow, with a store that fails some commits", async () => {
    await runModel(true, 120);
  }, 120_000);
});
