// Helpers shared by the error-handling tests: ad-hoc routines, clock-driven waits, history views.
import { expect } from "vitest";
import {
  Routine,
  type ExecutionContext,
  type ExecutionRecord,
  type JobState,
  type SimulatedClock,
} from "../../src/index.js";

/** A handler of an ad-hoc routine; it gets the routine itself as a third argument, to emit with. */
export type TestHandler = (data: Record<string, unknown>, ctx: ExecutionContext, self: Routine) => void | Promise<void>;

/** Builds a routine with the given slots and events, without declaring a class. */
export function routine(slots: Record<string, TestHandler>, events: string[] = []): Routine {
  const r = new Routine();
  for (const [name, handler] of Object.entries(slots)) {
    r.defineSlot(name, function (this: Routine, data, ctx) {
      return handler(data, ctx, this);
    });
  }
  for (const name of events) r.defineEvent(name);
  return r;
}

/** A routine whose `input` slot only notes that it ran, in `ran`. */
export function sink(ran: string[], name: string): Routine {
  return routine({ input: () => void ran.push(name) });
}

/** An entry routine that emits `out` once with `data`. */
export function source(data: Record<string, unknown> = {}): Routine {
  return routine({ trigger: (_d, _c, self) => self.emit("out", data) }, ["out"]);
}

/** Resolves after `ms` of simulated time: only `clock.advance` makes it resolve. */
export function clockDelay(clock: SimulatedClock, ms: number): Promise<void> {
  return new Promise((resolve) => void clock.setTimeout(resolve, ms));
}

/** A retryable failure, for `retryable` class lists. */
export class TransientError extends Error {
  override name = "TransientError";
}

/** A failure that should not be retried. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

/** A subclass of a retryable class. */
export class NetworkError extends TransientError {
  override name = "NetworkError";
}

/** `routineId -> eventName` of every record, for compact assertions on order. */
export function trace(records: readonly ExecutionRecord[]): string[] {
  return records.map((r) => `${r.routineId} -> ${r.eventName}`);
}

/** The records of one kind (`"error"`, `"retry"`, ...), optionally of one routine. */
export function recordsOf(job: JobState, eventName: string, routineId?: string): ExecutionRecord[] {
  return job.executionHistory.filter((r) => r.eventName === eventName && (routineId === undefined || r.routineId === routineId));
}

/** The one record of a kind; fails the test if there is not exactly one. */
export function onlyRecord(job: JobState, eventName: string, routineId?: string): ExecutionRecord {
  const found = recordsOf(job, eventName, routineId);
  expect(found, `records '${eventName}'${routineId === undefined ? "" : ` of '${routineId}'`}`).toHaveLength(1);
  return found[0]!;
}

/**
 * Moves the simulated clock far enough for every retry and timer of the test to fire, then checks
 * the job came to rest. Nothing here sleeps in real time.
 */
export async function runToRest(clock: SimulatedClock, job: JobState, ms = 60_000): Promise<JobState> {
  await clock.advance(ms);
  expect(["completed", "failed", "cancelled", "paused"], `job status after ${ms} ms`).toContain(job.status);
  return job;
}
