// The shape of a bench workload and helpers shared by the workloads. Nothing here is timed.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** What one timed run of a workload measured. Extra fields are printed as they are (numbers: median of the runs). */
export interface WorkloadResult {
  /** Tasks (slot activations, or floor tasks) the run executed. */
  tasks: number;
  /** Wall-clock seconds of the measured part of the run. */
  seconds: number;
  [extra: string]: unknown;
}

/** One workload: `bench/run.ts` calls `run()` once to warm up, then three times to measure. */
export interface Workload {
  name: string;
  run(): Promise<WorkloadResult>;
  /** Why the workload cannot run here (a service it needs is missing): it is skipped with that reason. */
  unavailable?(): Promise<string | undefined>;
}

let cachedGc: (() => void) | undefined;

/**
 * A full, synchronous garbage collection. Uses `globalThis.gc` (node --expose-gc) and falls back to
 * exposing it at run time, so the bench also works when started without the flag.
 */
export function collectGarbage(): void {
  if (cachedGc === undefined) {
    if (typeof globalThis.gc === "function") {
      const gc = globalThis.gc;
      cachedGc = () => void gc();
    } else {
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as () => void;
      cachedGc = () => gc();
    }
  }
  cachedGc();
  cachedGc();
}

/** Seconds since `startMs` (a `performance.now()` reading). */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

/** Throws when a workload did not do what it claims: a bench must never report work that did not happen. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`bench self-check failed: ${message}`);
}
