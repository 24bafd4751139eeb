// What a stored commit must look like, checked as it is read back: the commit schema, which names
// the field at fault, and a quick check for the common case. A commit that passes the quick check
// also passes the schema (test/persistence/commit-check.test.ts holds the two together); one that
// fails it is handed to the schema.
import { z } from "zod";
import { StoreError } from "../core/errors.js";
import { formatPath } from "../core/json-value.js";
import { pendingTaskSchema } from "../serialization/job-document.js";
import { JOB_STATUSES, type JobStatus } from "../state/job-snapshot.js";
import type { CommitData } from "./commit-format.js";

// ---------------------------------------------------------------- the schema

// Commits are read with JSON.parse, so every value is JSON already: the schema checks shapes only.
const json = z.unknown();
const payload = z.record(z.string(), json);
const time = z.number().finite();
const id = z.string().min(1);
const task = pendingTaskSchema(time, payload);
const entry = z.tuple([z.string(), z.string(), payload, time]);
const wait = z.strictObject({
  routineId: id,
  slotName: id,
  prompt: z.string().optional(),
  schema: payload.optional(),
  group: z.string().optional(),
});

/**
 * The shape of a stored commit, which names the field at fault in a bad one. Compiled ahead of
 * time; a commit that passes {@link isWellFormedCommit} (most do) is not run through it.
 * @internal
 */
export const commitSchema = z.compile(z.strictObject({
  base: z.literal(1).optional(),
  id: id.optional(),
  f: z.string().optional(),
  s: z.enum(JOB_STATUSES as [JobStatus, ...JobStatus[]]),
  u: time,
  n: z.int().positive(),
  cr: z.string().optional(),
  rm: z.number().nonnegative().optional(),
  j: z.strictObject({
    ca: time,
    m: payload,
    ck: payload.nullable(),
    to: z.number().nonnegative().nullable(),
    rm: z.number().nonnegative(),
    w: z.array(wait).optional(),
    ea: z.array(z.strictObject({ routineId: id, slotName: id, data: payload })).optional(),
  }).optional(),
  p: z.array(task).optional(),
  pc: z.literal(1).optional(),
  c: z.int().positive().optional(),
  x: z.array(z.int().positive()).optional(),
  a: z.array(task).optional(),
  h: z.array(entry).optional(),
  o: z.array(entry).optional(),
  l: z.array(json).optional(),
  pp: z.array(z.tuple([time, z.string(), payload.nullable()])).optional(),
  d: z.array(z.tuple([z.string(), json])).optional(),
  dx: z.array(z.string()).optional(),
  r: z.array(z.tuple([z.string(), payload])).optional(),
  b: z.array(z.tuple([id, id, payload.nullable()])).optional(),
  er: z.literal(1).optional(),
  e: z.array(z.tuple([id, id, payload])).optional(),
}).superRefine((commit, ctx) => {
  if (commit.base === undefined) return;
  for (const key of ["id", "f", "j", "p"] as const) {
    if (commit[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `a base commit needs '${key}'` });
  }
}));

// ---------------------------------------------------------------- the quick check

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

const isTask = record({
  taskId: [isCount, true],
  routineId: [isId, true],
  slotName: [isId, true],
  data: [isPayload, true],
  connectionId: [isString, false],
  attempt: [isCount, true],
  notBefore: [isTime, false],
  key: [isString, false],
});
const isEntry = tuple(isString, isString, isPayload, isTime);
const isWait = record({
  routineId: [isId, true],
  slotName: [isId, true],
  prompt: [isString, false],
  schema: [isPayload, false],
  group: [isString, false],
});
const isAnswer = record({ routineId: [isId, true], slotName: [isId, true], data: [isPayload, true] });
const isJobFields = record({
  ca: [isTime, true],
  m: [isPayload, true],
  ck: [isPayloadOrNull, true],
  to: [(v) => v === null || isSpan(v), true],
  rm: [isSpan, true],
  w: [list(isWait), false],
  ea: [list(isAnswer), false],
});

const isCommit = record({
  base: [one, false],
  id: [isId, false],
  f: [isString, false],
  s: [(v) => STATUSES.has(v), true],
  u: [isTime, true],
  n: [isCount, true],
  cr: [isString, false],
  rm: [isSpan, false],
  j: [isJobFields, false],
  p: [list(isTask), false],
  pc: [one, false],
  c: [isCount, false],
  x: [list(isCount), false],
  a: [list(isTask), false],
  h: [list(isEntry), false],
  o: [list(isEntry), false],
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
  if (!isCommit(value)) return false;
  const c = value as Record<string, unknown>;
  // A base commit holds the whole job.
  return c.base === undefined || (c.id !== undefined && c.f !== undefined && c.j !== undefined && c.p !== undefined);
}

// ---------------------------------------------------------------- reading a commit

/** Names a stored commit in messages (built only for one). */
function commitName(at: string, seq: number, snapshot: boolean): string {
  return `${at}, ${snapshot ? `snapshot at seq ${seq}` : `commit ${seq}`}`;
}

/**
 * Parses and validates one stored commit; a bad one throws a StoreError naming `at` (the store
 * and the job) and the commit, and the field at fault.
 * @internal
 */
export function parseCommit(text: string, at: string, seq: number, snapshot: boolean): CommitData {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StoreError(`${commitName(at, seq, snapshot)} is not valid JSON (${error instanceof Error ? error.message : String(error)}); the store is corrupt`, { cause: error });
  }
  if (isWellFormedCommit(raw)) return raw as CommitData;
  const result = commitSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue === undefined ? "" : formatPath(issue.path);
    throw new StoreError(`${commitName(at, seq, snapshot)} is malformed at '${path === "" ? "(commit)" : path}': ${issue?.message ?? "invalid"}; the store is corrupt`, {
      cause: result.error,
    });
  }
  // The schema only checks (it transforms nothing); the parsed text is kept as JSON.parse made it,
  // since a schema's output drops keys such as "__proto__" that JSON.parse keeps as own properties.
  return raw as CommitData;
}
