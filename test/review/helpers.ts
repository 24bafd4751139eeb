// Helpers of the review tests: uncaught errors collected while a body runs, and what a routine
// sees of the async context where a callback runs.
import { RoutiluxError, type Routine } from "../../src/index.js";
import { sleep } from "../fixtures/testing.js";

/** Runs `body` and returns the uncaught exceptions and unhandled rejections raised meanwhile. */
export async function uncaughtDuring(body: () => Promise<void>): Promise<unknown[]> {
  const caught: unknown[] = [];
  const onError = (error: unknown): void => void caught.push(error);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  try {
    await body();
    await sleep(5);
  } finally {
    process.off("uncaughtException", onError);
    process.off("unhandledRejection", onError);
  }
  return caught;
}

/**
 * What `routine` sees where it is called: `"outside"` when its emit throws a RoutiluxError saying
 * it is outside a job and it has no execution context, else what happened (`"emitted in <job>"`).
 * The routine must define an event `probe`.
 */
export function contextSeenBy(routine: Routine): string {
  const ctx = routine.getExecutionContext();
  try {
    routine.emit("probe", {});
  } catch (error) {
    const outside = error instanceof RoutiluxError && error.message.includes("outside a job");
    if (outside && ctx === undefined) return "outside";
    return `threw ${String(error)} with context ${ctx?.jobState.jobId ?? "none"}`;
  }
  return `emitted in ${ctx?.jobState.jobId ?? "?"}`;
}
