/** A timer handle returned by a {@link Clock}. */
export type TimerHandle = object | number;

/**
 * Time as the engine sees it: the current time and timers. Inject a {@link SimulatedClock} to test
 * retry backoff and timeouts without sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch (may be fractional). */
  now(): number;
  /** Calls `callback` once after `delayMs` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer that has not fired yet; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: epoch time and Node timers. `Date.now()` costs a fraction of `performance.now()`
 * on the per-task path (read once per task). Its millisecond steps leave metrics' `totalMs` and
 * `avgMs` unbiased over many activations (a 0.2 ms handler crosses a millisecond boundary one time
 * in five); `minMs`/`maxMs` of sub-millisecond handlers are whole milliseconds.
 */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (callback, delayMs) => (delayMs > MAX_TIMER_MS ? new LongTimer(callback, delayMs) : setTimeout(callback, delayMs)),
  clearTimeout: (handle) => {
    if (handle instanceof LongTimer) handle.clear();
    else clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** The longest delay a Node timer takes; a longer one fires at once (with a warning). */
const MAX_TIMER_MS = 2_147_483_647;

/** A timer for a delay over {@link MAX_TIMER_MS} (about 24.8 days): a chain of Node timers towards the due time. */
class LongTimer {
  readonly #due: number;
  readonly #callback: () => void;
  #timer: ReturnType<typeof setTimeout>;

  constructor(callback: () => void, delayMs: number) {
    this.#callback = callback;
    this.#due = Date.now() + delayMs;
    this.#timer = this.#arm();
  }

  #arm(): ReturnType<typeof setTimeout> {
    const left = this.#due - Date.now();
    return left > MAX_TIMER_MS
      ? setTimeout(() => (this.#timer = this.#arm()), MAX_TIMER_MS)
      : setTimeout(this.#callback, Math.max(0, left));
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

interface SimulatedTimer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * A clock that moves only when told to. Timers fire, in time order, during {@link SimulatedClock.advance}.
 *
 * @example
 * ```ts
 * const clock = new SimulatedClock();
 * const flow = new Flow({ clock });
 * // ... a retry waits 100 ms:
 * await clock.advance(100);
 * ```
 */
export class SimulatedClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: SimulatedTimer[] = [];

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.#now = startMs;
  }

  /** The simulated time, in epoch milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Schedules `callback` at `now() + delayMs`; it fires during {@link SimulatedClock.advance}. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, delayMs), callback };
    this.#timers.push(timer);
    return timer.id;
  }

  /** Cancels a timer that has not fired yet. */
  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order, and letting the
   * engine run what they release (microtasks and one macrotask turn after each) before the next.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      let next: SimulatedTimer | undefined;
      for (const t of this.#timers) if (t.at <= target && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = target;
    await settle();
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
