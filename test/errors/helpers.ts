// Helpers shared by the error-handling tests: clock-driven waits, error classes, history views.
// Ad-hoc routines and traces come from ../fixtures/testing.ts.
import { expect } from "vitest";
import { Flow, type ExecutionRecord, type JobState, type Routine, type SimulatedClock } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";

/** A routine whose `input` slot only notes that it ran, in `ran`. */
export function sink(ran: string[], name: string): Routine {
  return routine({ input: () => void ran.push(name) });
}

/**
 * src --out--> `continued` (optional, CONTINUE) and `skipped` (optional, SKIP), on `clock`; both
 * optional routines throw `Error(message)`.
 */
export function optionalFailuresFlow(clock: SimulatedClock, message: string): Flow {
  const flow = new Flow({ clock });
  const fail = (): never => {
    throw new Error(message);
  };
  flow.addRoutine(routine({ trigger: (_d, _c, self) => self.emit("out") }, ["out"]), "src");
  const continued = routine({ input: fail });
  continued.setAsOptional("continue");
  const skipped = routine({ input: fail });
  skipped.setAsOptional("skip");
  flow.addRoutine(continued, "continued");
  flow.addRoutine(skipped, "skipped");
  flow.connect("src", "out", "continued", "input");
  flow.connect("src", "out", "skipped", "input");
  return flow;
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
