/**
 * A FIFO on a growable ring buffer: O(1) push and shift, no `Array.shift` on long arrays.
 * @internal
 */
export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity = 4) {
    this.#items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    const items = this.#items;
    if (this.#size === items.length) this.#grow();
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) % items.length;
    this.#size--;
    return item;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  clear(): void {
    this.#items = new Array<T | undefined>(4);
    this.#head = 0;
    this.#size = 0;
  }

  /** The items in FIFO order, as a new array. */
  toArray(): T[] {
    const out = new Array<T>(this.#size);
    const items = this.#items;
    for (let i = 0; i < this.#size; i++) out[i] = items[(this.#head + i) % items.length] as T;
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const next = new Array<T | undefined>(Math.max(4, old.length * 2));
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) % old.length];
    this.#items = next;
    this.#head = 0;
  }
}
