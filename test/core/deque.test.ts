import { describe, expect, it } from "vitest";
import { Deque } from "../../src/state/deque.js";

describe("the task queue's ring buffer", () => {
  it("stays first-in first-out across growth and wrap-around", () => {
    const queue = new Deque<number>(4);
    const expected: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head wraps past the end before and after each growth.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 3 + (round % 5); i++) {
        queue.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < 2 + (round % 3); i++) expect(queue.shift()).toBe(expected.shift());
      expect(queue.length).toBe(expected.length);
    }
    expect(queue.toArray()).toEqual(expected);
    while (expected.length > 0) expect(queue.shift()).toBe(expected.shift());
    expect(queue.shift()).toBeUndefined();
    expect(queue.length).toBe(0);
  });

  it("clear() empties it and it works again afterwards", () => {
    const queue = new Deque<string>();
    for (const item of ["a", "b", "c", "d", "e"]) queue.push(item);
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.toArray()).toEqual([]);
    queue.push("f");
    expect(queue.shift()).toBe("f");
  });

  it("unshift() puts an item back at the front, across wraps and growth", () => {
    const queue = new Deque<number>();
    const expected: number[] = [];
    for (let i = 0; i < 40; i++) {
      if (i % 3 === 0) {
        queue.unshift(-i);
        expected.unshift(-i);
      } else {
        queue.push(i);
        expected.push(i);
      }
      if (i % 4 === 0) expect(queue.shift()).toBe(expected.shift());
    }
    expect(queue.length).toBe(expected.length);
    expect(queue.toArray()).toEqual(expected);
  });
});
