/**
 * A FIFO on a growable ring buffer: O(1) push and shift, no `Array.shift` on long arrays. The
 * capacity is a power of two, so wrapping is a mask.
 * @internal
 */
export class Deque<T> {
  #items: (T | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  constructor(capacity = 4) {
    let size = 4;
    while (size < capacity) size *= 2;
    this.#items = new Array<T | undefined>(size);
    this.#mask = size - 1;
  }

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size > this.#mask) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Puts an item back at the front (the next `shift` returns it). */
  unshift(item: T): void {
    if (this.#size > this.#mask) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = item;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  clear(): void {
    this.#items = new Array<T | undefined>(4);
    this.#mask = 3;
    this.#head = 0;
    this.#size = 0;
  }

  /** The items in FIFO order, as a new array. */
  toArray(): T[] {
    const out = new Array<T>(this.#size);
    const items = this.#items;
    for (let i = 0; i < this.#size; i++) out[i] = items[(this.#head + i) & this.#mask] as T;
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#items = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }
}
