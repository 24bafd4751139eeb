import type { JobStatus } from "../state/job-snapshot.js";

/** Figures of one routine over all jobs of a flow. Durations are in milliseconds. */
export interface RoutinePerformance {
  /** Handler runs, retries included. */
  activations: number;
  /** Runs that returned (or resolved) without error. */
  succeeded: number;
  /** Runs that threw (or rejected), whatever the error strategy made of it. */
  failed: number;
  /** Retries scheduled. */
  retried: number;
  /** Time spent in the handler over all runs. */
  totalMs: number;
  /** `totalMs / activations` (0 before the first run). */
  avgMs: number;
  /** The shortest run (0 before the first run). */
  minMs: number;
  /** The longest run. */
  maxMs: number;
}

/** Figures of a flow: per routine, and its jobs by status. */
export interface FlowPerformance {
  /** Figures of every routine that ran, by routine id. */
  routines: Record<string, RoutinePerformance>;
  /** How many of the flow's jobs are in each status now, and how many were started in all. */
  jobs: Record<JobStatus, number> & { total: number };
}

class Counters {
  activations = 0;
  succeeded = 0;
  failed = 0;
  retried = 0;
  totalMs = 0;
  minMs = Infinity;
  maxMs = 0;
}

/**
 * Aggregates activations and durations per routine across a flow's jobs. O(1) per task and no
 * allocation per task beyond the counters of a routine seen for the first time.
 */
export class ExecutionTracker {
  readonly #routines = new Map<string, Counters>();
  /** Jobs by status; every job started is in exactly one, so their sum is the total. */
  readonly #jobs: Record<JobStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0, paused: 0, cancelled: 0 };

  /** Figures of one routine; all zero for a routine that has not run. */
  getRoutinePerformance(routineId: string): RoutinePerformance {
    return figures(this.#routines.get(routineId) ?? new Counters());
  }

  /** Figures of every routine that ran, plus job counts by status. */
  getFlowPerformance(): FlowPerformance {
    const routines: Record<string, RoutinePerformance> = {};
    for (const [id, counters] of this.#routines) routines[id] = figures(counters);
    let total = 0;
    for (const count of Object.values(this.#jobs)) total += count;
    return { routines, jobs: { ...this.#jobs, total } };
  }

  /** Forgets every figure. */
  reset(): void {
    this.#routines.clear();
    for (const key of Object.keys(this.#jobs) as JobStatus[]) this.#jobs[key] = 0;
  }

  /** @internal One activation ended after `ms`. */
  activation(routineId: string, ms: number, ok: boolean): void {
    let c = this.#routines.get(routineId);
    if (c === undefined) {
      c = new Counters();
      this.#routines.set(routineId, c);
    }
    c.activations++;
    if (ok) c.succeeded++;
    else c.failed++;
    c.totalMs += ms;
    if (ms < c.minMs) c.minMs = ms;
    if (ms > c.maxMs) c.maxMs = ms;
  }

  /** @internal A retry of the routine was scheduled. */
  retry(routineId: string): void {
    const c = this.#routines.get(routineId);
    if (c !== undefined) c.retried++;
  }

  /** @internal A job of the flow moved from one status to another (`from` undefined: a new job). */
  jobStatus(from: JobStatus | undefined, to: JobStatus): void {
    if (from !== undefined) this.#jobs[from]--;
    this.#jobs[to]++;
  }
}

function figures(c: Counters): RoutinePerformance {
  return {
    activations: c.activations,
    succeeded: c.succeeded,
    failed: c.failed,
    retried: c.retried,
    totalMs: c.totalMs,
    avgMs: c.activations === 0 ? 0 : c.totalMs / c.activations,
    minMs: c.activations === 0 ? 0 : c.minMs,
    maxMs: c.maxMs,
  };
}
