import { contextStorage, type ActiveContext } from "../core/context.js";
import { Deque } from "../state/deque.js";
import type { PendingTask } from "../state/task.js";
import type { JobRun } from "./job-run.js";

/** The scheduler yields to the event loop after running this long, so timers, I/O and commits are served. */
const SLICE_MS = 8;
/**
 * A job's turn: up to this many of its tasks in a row. Tasks that settle at once (synchronous
 * handlers) then run back to back, so a job's data stays in the processor's cache and an
 * activation's garbage dies young, while jobs are still served round robin.
 */
const QUANTUM = 16;
/** The clock is read once per this many dispatches (a power of two). */
const CHECK_EVERY = 32;
/** The async context of code that runs for no handler. */
const NO_CONTEXT = undefined as unknown as ActiveContext;

/**
 * A flow's worker pool: at most `maxWorkers` handlers run at once across all its jobs, and jobs
 * with queued tasks are served round robin, up to `QUANTUM` tasks per turn, so a long job does
 * not starve a short one. It runs in time slices on every path that drives it (a synchronous drain, and each
 * settle of an async handler): after `SLICE_MS` it stops dispatching and resumes on the next
 * turn of the event loop, so a job whose handlers never wait on I/O cannot starve timers.
 * @internal
 */
export class Scheduler {
  /** Jobs with queued tasks, served round robin, up to `QUANTUM` tasks per turn. */
  readonly #ready = new Deque<JobRun>(16);
  readonly #dispatch: (run: JobRun, task: PendingTask) => void;
  #maxWorkers: number;
  #running = 0;
  /** A drain is due (a microtask or the turn after a yield). */
  #scheduled = false;
  #draining = false;
  /** Yielding to the event loop: nothing is dispatched until the next turn. */
  #yielding = false;
  #closed = false;
  #sliceStart = 0;
  #count = 0;
  /** A handler just took a millisecond or more: the slice is checked now rather than after `CHECK_EVERY` dispatches. */
  #slow = false;
  /** The clock as the last settle read it, for the dispatch that follows it within the same drain; undefined once taken or stale. */
  #settledAt: number | undefined;
  /** The job whose turn it is: it goes back in the ring when its turn ends, not before. */
  #serving: JobRun | undefined;
  #idleWaiters: Array<() => void> = [];
  readonly #drainNow = (): void => this.drain();
  // A drain kicked from a handler would otherwise run, and settle other tasks, inside its context.
  readonly #drainOutside = (): void => {
    this.#scheduled = false;
    this.#settledAt = undefined;
    contextStorage.run(NO_CONTEXT, this.#drainNow);
  };
  readonly #afterYield = (): void => {
    this.#yielding = false;
    this.#sliceStart = 0;
    this.#scheduled = false;
    this.#settledAt = undefined;
    contextStorage.run(NO_CONTEXT, this.#drainNow);
  };

  constructor(maxWorkers: number, dispatch: (run: JobRun, task: PendingTask) => void) {
    this.#maxWorkers = maxWorkers;
    this.#dispatch = dispatch;
  }

  /** Handlers running now. */
  get running(): number {
    return this.#running;
  }

  set maxWorkers(value: number) {
    this.#maxWorkers = value;
    this.kick();
  }

  /** Stops dispatching for good (shutdown). */
  close(): void {
    this.#closed = true;
  }

  /** Puts a job with queued tasks in the ready ring, and makes sure a drain comes. */
  ready(run: JobRun): void {
    if (!run.queued && run !== this.#serving && run.data.queue.length > 0 && run.runnable) {
      run.queued = true;
      this.#ready.push(run);
    }
    this.kick();
  }

  /** Puts a job in the ready ring without kicking a drain: the caller drains (a settle). */
  push(run: JobRun): void {
    if (!run.queued && run !== this.#serving && run.data.queue.length > 0 && run.runnable) {
      run.queued = true;
      this.#ready.push(run);
    }
  }

  /** A drain at the next microtask, unless one is running or due. */
  kick(): void {
    if (!this.#scheduled && !this.#draining && !this.#yielding) {
      this.#scheduled = true;
      queueMicrotask(this.#drainOutside);
    }
  }

  /** A settle read the clock: the dispatch that follows it at once starts at that time. */
  settledAt(now: number): void {
    this.#settledAt = now;
  }

  /** The time the settle just before read, once; undefined when no settle came since the last dispatch or drain. */
  takeSettledAt(): number | undefined {
    const at = this.#settledAt;
    this.#settledAt = undefined;
    return at;
  }

  /** A handler started. */
  started(): void {
    this.#running++;
  }

  /** A handler settled. */
  settled(): void {
    if (--this.#running === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves once no handler runs. */
  whenIdle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Dispatches ready tasks while workers are free and the time slice lasts. */
  drain(): void {
    if (this.#draining || this.#closed || this.#yielding) return;
    this.#draining = true;
    const ready = this.#ready;
    try {
      turns: while (this.#running < this.#maxWorkers) {
        const run = ready.shift();
        if (run === undefined) break;
        run.queued = false;
        this.#serving = run;
        for (let n = 0; n < QUANTUM && this.#running < this.#maxWorkers && run.runnable; n++) {
          const task = run.data.queue.shift();
          if (task === undefined) break;
          this.#dispatch(run, task);
          if (((++this.#count & (CHECK_EVERY - 1)) === 0 || this.#slow) && this.#sliceOver()) {
            this.#endTurn(run);
            this.#yield();
            break turns;
          }
        }
        this.#endTurn(run);
      }
    } finally {
      this.#draining = false;
      this.#serving = undefined;
      this.#settledAt = undefined;
    }
  }

  /** A job's turn is over: back in the ring if it still has tasks to run. */
  #endTurn(run: JobRun): void {
    this.#serving = undefined;
    this.push(run);
  }

  /** A synchronous handler ran for a millisecond or more (by the wall clock): the next dispatch checks the slice. */
  ranSlowly(): void {
    this.#slow = true;
  }

  /** Whether the slice that began at the first check since the last yield has run out. */
  #sliceOver(): boolean {
    this.#slow = false;
    const now = performance.now();
    if (this.#sliceStart === 0) {
      this.#sliceStart = now;
      return false;
    }
    return now - this.#sliceStart > SLICE_MS;
  }

  #yield(): void {
    this.#yielding = true;
    this.#scheduled = true;
    contextStorage.run(NO_CONTEXT, () => setImmediate(this.#afterYield));
  }
}
