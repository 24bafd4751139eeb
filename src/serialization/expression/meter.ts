/**
 * The run-time bound of one evaluation: a budget of cost units that the evaluation draws from.
 *
 * The CEL library has no cost limit of its own, so two hooks feed the meter: every node of the
 * parse tree charges 1 each time it runs (a macro's body runs once per item), plus the length
 * of the list or string / 16 it makes for `+` and function calls; and every value read from
 * `data`, `config` or another input charges 1, plus its length / 16 for a string. So the work of
 * one evaluation, including that of comparisons and `in` that scan an input, is proportional to
 * the units it spends.
 */

/** Why an evaluation stopped early: it ran out of budget, or met an input that is not JSON. */
export class MeterStop extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MeterStop";
  }
}

/**
 * The budget of one evaluation. Once it has stopped, every later charge stops again at once, so
 * an evaluation that swallows the first stop (`error || true` is true in CEL) still ends quickly,
 * and the caller reports the stop whatever the result.
 * @internal
 */
export class Meter {
  #left: number;
  readonly #limit: number;
  #stop: MeterStop | undefined;

  constructor(limit: number) {
    this.#limit = limit;
    this.#left = limit;
  }

  /** The first reason the evaluation stopped, if it did. */
  get stop(): MeterStop | undefined {
    return this.#stop;
  }

  /** Draws `units` from the budget; throws once it is spent. */
  charge(units: number): void {
    this.#left -= units;
    if (this.#left < 0) {
      throw this.fail(`it needs more than its budget of ${this.#limit.toLocaleString("en-US")} steps; ` +
        "make it iterate over less, or filter the message before this routine");
    }
    if (this.#stop !== undefined) throw this.#stop;
  }

  /** Stops the evaluation for `reason` (the first reason given is kept) and returns the error to throw. */
  fail(reason: string): MeterStop {
    this.#stop ??= new MeterStop(reason);
    return this.#stop;
  }
}

let active: Meter | undefined;

/** Charges the meter of the evaluation in progress; outside an evaluation it does nothing. @internal */
export function charge(units: number): void {
  active?.charge(units);
}

/** Stops the evaluation in progress for `reason`; returns the error to throw. @internal */
export function failActive(reason: string): Error {
  return active === undefined ? new MeterStop(reason) : active.fail(reason);
}

/**
 * Runs `fn` with `meter` as the active meter. Evaluation is synchronous and never calls out to
 * user code, so one active meter at a time is enough; the previous one is restored all the same.
 * @internal
 */
export function withMeter<T>(meter: Meter, fn: () => T): T {
  const previous = active;
  active = meter;
  try {
    return fn();
  } finally {
    active = previous;
  }
}
