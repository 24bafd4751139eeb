// The quick check of a stored commit's shape, for the common case: a commit that passes it also
// passes the commit schema (test/persistence/commit-check.test.ts holds the two together). One that
// fails it is handed to the schema, which names the field at fault.
import { JOB_STATUSES } from "../state/job-snapshot.js";

const STATUSES: ReadonlySet<unknown> = new Set<unknown>(JOB_STATUSES);

type Check = (value: unknown) => boolean;

// Values come from JSON.parse: an object that is not an array is a plain object.
const isPayload: Check = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const isPayloadOrNull: Check = (v) => v === null || isPayload(v);
const isTime: Check = (v) => typeof v === "number" && Number.isFinite(v);
const isSpan: Check = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isCount: Check = (v) => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
const isString: Check = (v) => typeof v === "string";
const isId: Check = (v) => typeof v === "string" && v.length > 0;

function isListOf(value: unknown, check: Check): boolean {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (!check(item)) return false;
  return true;
}

/** A tuple: an array of exactly `checks.length` items, each passing its check. */
function tuple(...checks: Check[]): Check {
  return (v) => {
    if (!Array.isArray(v) || v.length !== checks.length) return false;
    for (let i = 0; i < checks.length; i++) if (!checks[i]!(v[i])) return false;
    return true;
  };
}

/**
 * A strict object: every key known and passing its check, every required key present. `fields`
 * maps a key to its check and whether it is required.
 */
function record(fields: Readonly<Record<string, readonly [Check, boolean]>>): Check {
  const known = new Map(Object.entries(fields));
  const required = [...known.values()].filter(([, needed]) => needed).length;
  return (v) => {
    if (!isPayload(v)) return false;
    const object = v as Record<string, unknown>;
    let found = 0;
    for (const key in object) {
      const field = known.get(key);
      if (field === undefined || !field[0](object[key])) return false;
      if (field[1]) found++;
    }
    return found === required;
  };
}

const list = (check: Check): Check => (v) => isListOf(v, check);
const one: Check = (v) => v === 1;

const task = record({
  taskId: [isCount, true],
  routineId: [isId, true],
  slotName: [isId, true],
  data: [isPayload, true],
  connectionId: [isString, false],
  attempt: [isCount, true],
  notBefore: [isTime, false],
  key: [isString, false],
});
const entry = tuple(isString, isString, isPayload, isTime);
const wait = record({
  routineId: [isId, true],
  slotName: [isId, true],
  prompt: [isString, false],
  schema: [isPayload, false],
  group: [isString, false],
});
const answer = record({ routineId: [isId, true], slotName: [isId, true], data: [isPayload, true] });
const jobFields = record({
  ca: [isTime, true],
  m: [isPayload, true],
  ck: [isPayloadOrNull, true],
  to: [(v) => v === null || isSpan(v), true],
  rm: [isSpan, true],
  w: [list(wait), false],
  ea: [list(answer), false],
});

const commit = record({
  base: [one, false],
  id: [isId, false],
  f: [isString, false],
  s: [(v) => STATUSES.has(v), true],
  u: [isTime, true],
  n: [isCount, true],
  cr: [isString, false],
  rm: [isSpan, false],
  j: [jobFields, false],
  p: [list(task), false],
  pc: [one, false],
  c: [isCount, false],
  x: [list(isCount), false],
  a: [list(task), false],
  h: [list(entry), false],
  o: [list(entry), false],
  l: [Array.isArray, false],
  pp: [list(tuple(isTime, isString, isPayloadOrNull)), false],
  d: [list(tuple(isString, () => true)), false],
  dx: [list(isString), false],
  r: [list(tuple(isString, isPayload)), false],
  b: [list(tuple(isId, isId, isPayloadOrNull)), false],
  er: [one, false],
  e: [list(tuple(isId, isId, isPayload)), false],
});

/**
 * Whether a value JSON.parse made from a stored commit is a well-formed commit. True only when
 * the commit schema accepts it as well; false says nothing (the schema then decides, and explains).
 * @internal
 */
export function isWellFormedCommit(value: unknown): boolean {
  if (!commit(value)) return false;
  const c = value as Record<string, unknown>;
  // A base commit holds the whole job.
  return c.base === undefined || (c.id !== undefined && c.f !== undefined && c.j !== undefined && c.p !== undefined);
}
