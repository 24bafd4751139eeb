// Small helpers shared by the core engine tests: ad-hoc routines, a seeded random source, errors.
import { Routine, type ExecutionContext, type MergeStrategy } from "../../src/index.js";

/** A handler of an ad-hoc routine: gets the routine itself as a third argument, to emit with. */
export type TestHandler = (data: Record<string, unknown>, ctx: ExecutionContext, self: Routine) => void | Promise<void>;

/** A slot of an ad-hoc routine: a handler, or a handler with a merge strategy. */
export type TestSlot = TestHandler | { handler: TestHandler; mergeStrategy: MergeStrategy };

/** Builds a routine with the given slots and events, without declaring a class. */
export function routine(slots: Record<string, TestSlot>, events: string[] = []): Routine {
  const r = new Routine();
  for (const [name, slot] of Object.entries(slots)) {
    const handler = typeof slot === "function" ? slot : slot.handler;
    const options = typeof slot === "function" ? undefined : { mergeStrategy: slot.mergeStrategy };
    r.defineSlot(name, function (this: Routine, data, ctx) {
      return handler(data, ctx, this);
    }, options);
  }
  for (const name of events) r.defineEvent(name);
  return r;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A reproducible pseudo-random source (mulberry32), so interleavings are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `fn` and returns what it threw; fails the test if it did not throw. */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`expected an Error to be thrown, got ${String(error)}`, { cause: error });
  }
  throw new Error("expected the call to throw, but it returned normally");
}

/** `routineId -> eventName` of every record of a history, for compact assertions. */
export function trace(records: ReadonlyArray<{ routineId: string; eventName: string }>): string[] {
  return records.map((r) => `${r.routineId} -> ${r.eventName}`);
}
