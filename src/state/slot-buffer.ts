import { appended } from "../core/lists.js";
import { mergeSlotData, type MergeStrategy, type Payload } from "../core/slot.js";
import type { PendingTask } from "./task.js";

interface Contribution {
  readonly task: PendingTask;
  readonly incoming: Payload;
  /** The buffer after this contribution: the fold of the durable value and every contribution up to this one. */
  merged: Payload;
  succeeded: boolean;
}

/**
 * One merging slot's per-job buffer ("append" or a function). Activations merge into it as they
 * are dispatched, so a handler sees every value received before it; each contribution stays
 * pending until its activation settles. A failed activation removes only its own contribution
 * (the ones after it are merged again without it); the durable value, what a store holds and a
 * recovered job starts from, folds only the contributions of activations that succeeded, so
 * recovery never merges one twice. The strategy must be a pure function of its two arguments.
 * @internal
 */
export class SlotBuffer {
  /** The fold of every settled contribution. */
  #settled: Payload | undefined;
  /** Contributions not yet folded into `#settled`, in dispatch order. */
  #pending: Contribution[] | undefined;
  /** The slot's strategy, known from the first merge here (a restored buffer folds nothing before it). */
  #strategy: MergeStrategy = "override";

  constructor(settled: Payload | undefined) {
    this.#settled = settled;
  }

  /** What the next activation merges onto: every contribution so far. */
  get current(): Payload | undefined {
    const pending = this.#pending;
    return pending === undefined || pending.length === 0 ? this.#settled : pending[pending.length - 1]!.merged;
  }

  /** Merges an activation's data; returns what its handler receives. Throws what the strategy throws. */
  merge(strategy: MergeStrategy, task: PendingTask, incoming: Payload): Payload {
    this.#strategy = strategy;
    const merged = mergeSlotData(strategy, this.current, incoming);
    this.#pending = appended(this.#pending, { task, incoming, merged, succeeded: false });
    return merged;
  }

  /** The activation of `task` succeeded: its contribution is kept. */
  succeed(task: PendingTask): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const entry = pending.find((c) => c.task === task);
    if (entry === undefined) return;
    entry.succeeded = true;
    let settled = 0;
    while (settled < pending.length && pending[settled]!.succeeded) this.#settled = pending[settled++]!.merged;
    if (settled > 0) pending.splice(0, settled);
  }

  /** The activation of `task` failed: its contribution is removed and later ones are merged again without it. */
  fail(task: PendingTask): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const at = pending.findIndex((c) => c.task === task);
    if (at < 0) return;
    pending.splice(at, 1);
    let value = at === 0 ? this.#settled : pending[at - 1]!.merged;
    for (let i = at; i < pending.length; i++) {
      const entry = pending[i]!;
      value = remerge(this.#strategy, value, entry);
      entry.merged = value ?? {};
    }
  }

  /** The value to persist: the settled fold plus the contributions that succeeded out of order. */
  durable(): Payload | undefined {
    const pending = this.#pending;
    let value = this.#settled;
    if (pending === undefined) return value;
    for (const entry of pending) if (entry.succeeded) value = remerge(this.#strategy, value, entry);
    return value;
  }

  /** No activation holds a contribution. */
  get idle(): boolean {
    return this.#pending === undefined || this.#pending.length === 0;
  }
}

/** A contribution merged again onto another value; a strategy that throws now keeps the value as it was. */
function remerge(strategy: MergeStrategy, value: Payload | undefined, entry: Contribution): Payload | undefined {
  try {
    return mergeSlotData(strategy, value, entry.incoming);
  } catch {
    return value;
  }
}
