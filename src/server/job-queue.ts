/**
 * Runs tasks one after the other per key: a task given for a key starts once the earlier tasks
 * of that key have settled. Control calls on one job go through it, so that each sees the status
 * the one before it left.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `task` after the earlier tasks of `key`; resolves or rejects as it does. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.then(() => undefined, () => undefined);
    this.#tails.set(key, tail);
    // The last task of a key removes the key: the map holds only keys with tasks under way.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** How many keys have tasks under way. */
  get size(): number {
    return this.#tails.size;
  }
}
