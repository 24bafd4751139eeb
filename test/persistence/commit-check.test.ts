// The quick check of stored commits must never let through a commit the commit schema refuses:
// recovery trusts it for the commits that pass it, and asks the schema only about the others.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commitSchema, isWellFormedCommit } from "../../src/persistence/commit-check.js";

const task = { taskId: 3, routineId: "r", slotName: "in", data: { v: 1 }, connectionId: "a.out->r.in", attempt: 2, notBefore: 1700000000000, key: "k" };

/** Commits of every kind, with every field a commit may hold. */
const SAMPLES: ReadonlyArray<Record<string, unknown>> = [
  {
    base: 1, id: "job-1", f: "flow", s: "running", u: 1700000000000, n: 4, cr: "r", rm: 12,
    j: {
      ca: 1700000000000, m: { owner: "me" }, ck: { step: 1 }, to: 5000, rm: 12,
      w: [{ routineId: "r", slotName: "answer", prompt: "Go?", schema: { type: "string" }, group: "g" }],
      ea: [{ routineId: "r", slotName: "answer", data: { yes: true } }],
    },
    p: [task], h: [["r", "start", {}, 1700000000000]], o: [["r", "text", { t: "hi" }, 1700000000001]], l: [1, "two", { three: 3 }],
    pp: [[1700000000002, "wait", null], [1700000000003, "again", { at: 1 }]], d: [["k", [1, 2]], ["n", null]], r: [["r", { status: "completed" }]],
    b: [["r", "in", { v: [1] }], ["r", "other", null]], e: [["r", "done", { x: 1 }]],
  },
  { s: "running", u: 1700000000004, n: 5, c: 3, a: [{ taskId: 4, routineId: "r", slotName: "in", data: {}, attempt: 1 }], h: [["r", "next", { step: 1 }, 1700000000004]] },
  { s: "paused", u: 1700000000005, n: 5, pc: 1, x: [4], dx: ["k"], er: 1, e: [], j: { ca: 0, m: {}, ck: null, to: null, rm: 0 } },
  { s: "completed", u: 1700000000006, n: 5 },
];

/** Values a field could wrongly hold: other JSON types, edge numbers, empty and odd strings. */
const oddValue = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, -1, 0.5, 1, 2 ** 53, -0, "", "x", "running", [], {}, [1], ["a", "b"], { s: 1 }, Infinity),
  fc.jsonValue(),
);

type Path = Array<string | number>;

/** Every path to a value inside `value` (the value itself included). */
function pathsOf(value: unknown, at: Path = []): Path[] {
  const paths: Path[] = [at];
  if (Array.isArray(value)) value.forEach((item, i) => paths.push(...pathsOf(item, [...at, i])));
  else if (typeof value === "object" && value !== null) for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...at, key]));
  return paths;
}

/**
 * A copy of `value` with the value at `path` replaced or removed, or a key added to the object
 * there; `value` itself when an earlier change took the path away.
 */
function mutate(value: unknown, path: Path, change: { kind: "set" | "remove" | "add"; value: unknown; key: string }): unknown {
  if (value === undefined) return value;
  const copy: unknown = JSON.parse(JSON.stringify(value));
  if (path.length === 0 && change.kind !== "add") return change.kind === "set" ? change.value : undefined;
  let parent = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, change.kind === "add" ? path.length : -1)) {
    if (typeof parent !== "object" || parent === null) return value;
    parent = parent[step] as Record<string | number, unknown>;
  }
  if (typeof parent !== "object" || parent === null) return value;
  if (change.kind === "add") {
    if (typeof parent === "object" && parent !== null && !Array.isArray(parent)) parent[change.key] = change.value;
    return copy;
  }
  const last = path.at(-1)!;
  if (change.kind === "set") parent[last] = change.value;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy;
}

describe("the quick check of stored commits", () => {
  it("passes commits of every kind", () => {
    for (const sample of SAMPLES) {
      expect(commitSchema.safeParse(sample).success).toBe(true);
      expect(isWellFormedCommit(sample)).toBe(true);
    }
  });

  it("agrees with the commit schema on commits with a field removed, changed, or added", () => {
    const change = fc.record({ kind: fc.constantFrom("set" as const, "remove" as const, "add" as const), value: oddValue, key: fc.constantFrom("zz", "s", "__proto__", "id") });
    const mutated = fc.constantFrom(...SAMPLES).chain((sample) =>
      fc.tuple(fc.constant(sample), fc.array(fc.tuple(fc.constantFrom(...pathsOf(sample)), change), { minLength: 1, maxLength: 3 })));
    fc.assert(fc.property(mutated, ([sample, steps]) => {
      let commit: unknown = sample;
      for (const [path, step] of steps) commit = mutate(commit, path, step);
      // Through JSON text, as a store reads it (an Infinity comes back as null; __proto__ stays an own key).
      const text = JSON.stringify(commit);
      const read: unknown = text === undefined ? undefined : JSON.parse(text);
      expect(isWellFormedCommit(read)).toBe(commitSchema.safeParse(read).success);
    }), { numRuns: 3000 });
  });

  it("refuses what no store writes: another type at the top, numbers JSON cannot round-trip, a base commit without its job", () => {
    for (const value of [null, [], "commit", 1, { ...SAMPLES[3], u: Infinity }, { ...SAMPLES[3], n: 2 ** 53 }, { base: 1, s: "running", u: 0, n: 1 }]) {
      expect(isWellFormedCommit(value)).toBe(false);
      expect(commitSchema.safeParse(value).success).toBe(false);
    }
  });
});
