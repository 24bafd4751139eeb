// What a Worker needs of a Flow's engine, behind a symbol so it is no part of Flow's public face.
import type { JobState } from "./job-state.js";

/** The key of {@link WorkerHost} on a Flow. @internal */
export const kWorkerHost: unique symbol = Symbol("routilux.workerHost");

/** A flow's engine as a Worker drives it. @internal */
export interface WorkerHost {
  /** Whether the flow runs jobs in this process (not `runJobs: "workers"`) and has a store. */
  readonly runsJobs: boolean;
  /** Takes at most `limit` running jobs of the flow that no live process runs, and runs them here. */
  claim(limit: number): Promise<JobState[]>;
  /** Resolves once the job rests here ("rested") or was let go ("released"); rejects with what lost it. */
  wait(job: JobState): Promise<"rested" | "released">;
  /** Hands the job back to the store (see JobControl.handBack). */
  handBack(job: JobState): Promise<boolean>;
}
