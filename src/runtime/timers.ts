import type { Clock } from "../core/clock.js";
import { outsideContext } from "../core/context.js";
import type { PendingTask } from "../state/task.js";
import type { JobRun } from "./job-run.js";

/**
 * The engine's timers: delayed tasks (retries, delayed deliveries) waiting for their `notBefore`
 * without holding a worker, and each job's time limit. Every timer is made outside any
 * handler's async context, so none keeps a handler's job alive.
 * @internal
 */
export class Timers {
  readonly #clock: Clock;
  readonly #due: (run: JobRun, task: PendingTask) => void;
  readonly #timedOut: (run: JobRun) => void;

  /**
   * @param due - a delayed task's time has come: queue it
   * @param timedOut - a running job reached its time limit
   */
  constructor(clock: Clock, due: (run: JobRun, task: PendingTask) => void, timedOut: (run: JobRun) => void) {
    this.#clock = clock;
    this.#due = due;
    this.#timedOut = timedOut;
  }

  /**
   * Holds `task` until its `notBefore`; it stays in the job's delayed set (and its documents)
   * meanwhile. Its timer runs while the job runs here, also while its store has yet to accept a
   * resume (what falls due then waits in the queue); a paused job's timers start when it resumes.
   */
  delay(run: JobRun, task: PendingTask): void {
    (run.data.delayed ??= new Map()).set(task.taskId, task);
    if (run.job.status === "running" && !run.detached) this.arm(run, task);
  }

  /** Starts the timer of a delayed task. */
  arm(run: JobRun, task: PendingTask): void {
    const wait = Math.max(0, (task.notBefore ?? 0) - this.#clock.now());
    const timer = outsideContext(() => this.#clock.setTimeout(() => {
      run.retryTimers?.delete(task.taskId);
      if (run.data.delayed?.delete(task.taskId) !== true) return;
      this.#due(run, task);
    }, wait));
    (run.retryTimers ??= new Map()).set(task.taskId, timer);
  }

  /** Withdraws the delayed tasks of `routineId` whose key is in `keys`; returns their taskIds. */
  withdraw(run: JobRun, routineId: string, keys: readonly string[]): number[] | undefined {
    const delayed = run.data.delayed;
    if (delayed === undefined) return undefined;
    let removed: number[] | undefined;
    for (const task of delayed.values()) {
      if (task.routineId !== routineId || task.key === undefined || !keys.includes(task.key)) continue;
      delayed.delete(task.taskId);
      const timer = run.retryTimers?.get(task.taskId);
      if (timer !== undefined) {
        this.#clock.clearTimeout(timer);
        run.retryTimers!.delete(task.taskId);
      }
      (removed ??= []).push(task.taskId);
    }
    return removed;
  }

  /** Starts the timers of every delayed task of a job (on resume or recovery). */
  armAll(run: JobRun): void {
    for (const task of run.data.delayed?.values() ?? []) this.arm(run, task);
  }

  /** Stops the timers of a job's delayed tasks; the tasks stay delayed. */
  clearDelays(run: JobRun): void {
    if (run.retryTimers === undefined) return;
    for (const timer of run.retryTimers.values()) this.#clock.clearTimeout(timer);
    run.retryTimers = undefined;
  }

  /** Starts the job's time limit, counting only what it has not run yet. */
  startLimit(run: JobRun): void {
    const limit = run.data.timeoutMs;
    if (limit === undefined || run.timeoutTimer !== undefined) return;
    run.data.runningSince = this.#clock.now();
    const remaining = Math.max(0, limit - run.data.runningMs);
    run.timeoutTimer = outsideContext(() => this.#clock.setTimeout(() => {
      run.timeoutTimer = undefined;
      this.#timedOut(run);
    }, remaining));
  }

  /** Stops the job's time limit, adding the time it ran to `runningMs`. */
  stopLimit(run: JobRun): void {
    if (run.timeoutTimer === undefined) return;
    this.#clock.clearTimeout(run.timeoutTimer);
    run.timeoutTimer = undefined;
    run.data.runningMs += this.#clock.now() - (run.data.runningSince ?? this.#clock.now());
    run.data.runningSince = undefined;
  }

}
