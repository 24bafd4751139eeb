import { z } from "zod";
import { ErrorStrategy } from "../core/error-handler.js";
import { listChoices, showValue } from "../core/errors.js";
import type { FlowSpecPath, SpecProblem } from "./flow-spec-error.js";
import type { RoutineRegistry } from "./registry.js";

/** A routine id in a flow file: no "." (it separates the routine from the event in `from` and `to`). */
const ROUTINE_ID = /^[^.]+$/;
/** `routineId.eventOrSlot`: split at the first "."; event and slot names may contain dots. */
const ENDPOINT = /^[^.]+\..+$/;
/** Deeper values are refused: no flow needs them, and they would exhaust the stack of any reader. */
export const MAX_FLOW_SPEC_NESTING = 100;
const errorHandlerSpecSchema = z.strictObject({
  strategy: z.enum(Object.values(ErrorStrategy) as [ErrorStrategy, ...ErrorStrategy[]]).optional()
    .describe('What a failure leads to: "stop" fails the routine and the job (default), "continue" and "skip" let the job go on, "retry" runs the activation again.'),
  maxRetries: z.int().min(0).optional().describe("Retries after the first attempt (strategy retry). Default 3."),
  retryDelayMs: z.number().min(0).optional().describe("Milliseconds before the first retry. Default 100."),
  retryBackoff: z.number().min(1).optional().describe("Each retry waits retryDelayMs * retryBackoff ** (attempt - 1). Default 2."),
  isCritical: z.boolean().optional().describe("Whether the routine's failure after its retries fails the job. Default false."),
  retryable: z.array(z.string().min(1)).optional()
    .describe("Names of the error classes to retry, as registered with registry.registerError (Error, TypeError, ... are known). Default: every error."),
}).describe("What happens when a slot handler fails. Omitted fields take the defaults of ErrorHandler.");

const routineSpecSchema = z.strictObject({
  class: z.string().min(1).describe("The routine's class: a name registered in the registry given to the loader, else in defaultRegistry (the built-ins)."),
  config: z.record(z.string(), z.unknown()).optional().describe("The routine's configuration (plain JSON), given to routine.setConfig. Default {}."),
  errorHandler: errorHandlerSpecSchema.optional().describe("The routine's own error handler; it wins over the flow's. Default: none."),
}).describe("A routine: its class, configuration and error handler.");

const endpoint = (what: string, example: string) => z.string().regex(ENDPOINT, `expected '${what}', such as '${example}'`);

const connectionSpecSchema = z.strictObject({
  from: endpoint("routineId.eventName", "fetch.fetched").describe("The source: a routine id and one of its events, as routineId.eventName."),
  to: endpoint("routineId.slotName", "route.input").describe("The target: a routine id and one of its slots, as routineId.slotName."),
  paramMapping: z.record(z.string(), z.string().min(1)).optional()
    .describe("Renames event parameters to slot parameters: {a: x} turns {a: 1, b: 2} into {x: 1, b: 2}; unmapped names pass through."),
}).describe("A wire from an event of one routine to a slot of another.");

const flowSpecSchema = z.strictObject({
  $schema: z.string().optional().describe("The JSON Schema this file follows, for editors; ignored when loading."),
  flowId: z.string().min(1)
    .describe("The flow's id. Jobs carry it: a stored job resumes or recovers only on a flow with the same flowId."),
  executionStrategy: z.enum(["sequential", "concurrent"]).optional()
    .describe('"sequential" runs one handler at a time (default); "concurrent" up to maxWorkers.'),
  maxWorkers: z.int().min(1).optional().describe("At most this many handlers run at once across all jobs (concurrent only). Default 5."),
  executionTimeoutMs: z.number().gt(0).optional().describe("A job running longer than this many milliseconds is failed. Default: no limit."),
  errorHandler: errorHandlerSpecSchema.optional().describe("The flow-level error handler, for routines without their own. Default: none (a failure stops the job)."),
  routines: z.record(z.string().regex(ROUTINE_ID, "a routine id in a flow file contains no '.'"), routineSpecSchema)
    .describe("The routines, by routine id."),
  connections: z.array(connectionSpecSchema).optional().describe("The wires from events to slots. Default: none."),
}).meta({
  title: "routilux flow file",
  description: "A flow of routines wired event to slot, written as YAML or JSON. Load it with loadFlowFile or Flow.fromSpec.",
});

/**
 * A flow file's content: the friendlier, hand-written form of a {@link FlowDocument}. Omitted
 * fields take their defaults; `flowId` is required, since a stored job resumes only on a flow
 * with the same id.
 */
export type FlowSpec = z.infer<typeof flowSpecSchema>;
/** A routine of a {@link FlowSpec}. */
export type FlowRoutineSpec = z.infer<typeof routineSpecSchema>;
/** A connection of a {@link FlowSpec}: `from: routineId.event`, `to: routineId.slot`. */
export type ConnectionSpec = z.infer<typeof connectionSpecSchema>;
/** An error handler of a {@link FlowSpec}; omitted fields take the defaults of `ErrorHandler`. */
export type ErrorHandlerSpec = z.infer<typeof errorHandlerSpecSchema>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describeKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${showValue(value)}`;
}

/**
 * Refuses what no schema check should see: nesting deeper than {@link MAX_FLOW_SPEC_NESTING},
 * `__proto__` keys (a reader that assigns them would change an object's prototype; zod drops them
 * silently), and values JSON cannot hold (`.inf`, functions, class instances, cycles).
 */
function structureProblems(value: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const onPath = new Set<object>();
  const walk = (v: unknown, path: Array<string | number>): void => {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) problems.push({ path: [...path], message: `expected a finite number, got ${String(v)}` });
      return;
    }
    if (typeof v === "string" || typeof v === "boolean" || v === null) return;
    if (typeof v !== "object") {
      problems.push({ path: [...path], message: `expected plain JSON, got ${typeof v === "function" ? "a function" : `a ${typeof v}`}` });
      return;
    }
    if (!Array.isArray(v) && !isPlainObject(v)) {
      problems.push({ path: [...path], message: `expected plain JSON, got an instance of ${v.constructor?.name ?? "a class"}` });
      return;
    }
    if (onPath.has(v)) {
      problems.push({ path: [...path], message: "expected plain JSON, got a cycle: this object contains itself" });
      return;
    }
    if (path.length >= MAX_FLOW_SPEC_NESTING) {
      problems.push({ path: [...path], message: `nested too deep: flow files are limited to ${MAX_FLOW_SPEC_NESTING} levels` });
      return;
    }
    onPath.add(v);
    if (Array.isArray(v)) {
      v.forEach((item: unknown, i) => walk(item, [...path, i]));
    } else {
      for (const key of Object.keys(v)) {
        if (key === "__proto__") {
          problems.push({ path: [...path, key], part: "key", message: "the key '__proto__' is refused: it would change an object's prototype; rename it" });
        } else {
          walk(v[key], [...path, key]);
        }
      }
    }
    onPath.delete(v);
  };
  walk(value, []);
  return problems;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value };
}

/** The fields an object at `path` may have, for "did you mean" on an unknown one. */
function fieldsAt(path: readonly PropertyKey[]): string[] {
  if (path.length === 0) return Object.keys(flowSpecSchema.shape);
  if (path.length === 2 && path[0] === "routines") return Object.keys(routineSpecSchema.shape);
  if (path.length === 2 && path[0] === "connections") return Object.keys(connectionSpecSchema.shape);
  if (path[path.length - 1] === "errorHandler") return Object.keys(errorHandlerSpecSchema.shape);
  return [];
}

/** A zod message without its "Invalid input: " head and ", received x" tail (the caller says what was received). */
function plain(message: string): string {
  return message.replace(/^Invalid (input|option|string): /, "").replace(/, received \w+$/, "");
}

function schemaProblems(input: unknown, error: z.ZodError): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    if (issue.code === "unrecognized_keys") {
      const fields = fieldsAt(path);
      for (const key of issue.keys) {
        problems.push({ path: [...path, key], part: "key", message: `unknown field '${key}'; the fields here are: ${listChoices(key, fields)}` });
      }
    } else if (issue.code === "invalid_key") {
      problems.push({ path, part: "key", message: issue.issues.map((inner) => inner.message).join("; ") });
    } else {
      const at = valueAt(input, path);
      const message = !at.found
        ? `required field is missing (${plain(issue.message)})`
        : issue.code === "custom" ? issue.message : `${plain(issue.message)}; got ${describeKind(at.value)}`;
      problems.push({ path, message });
    }
  }
  return problems;
}

function endpointRoutine(value: unknown): string | undefined {
  return typeof value === "string" && ENDPOINT.test(value) ? value.slice(0, value.indexOf(".")) : undefined;
}

/** Checks that need no routine instances: references, duplicates, worker count, registered names. */
function semanticProblems(spec: Record<string, unknown>, registry: RoutineRegistry | undefined): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const routines = isPlainObject(spec.routines) ? spec.routines : undefined;
  const strategy = spec.executionStrategy ?? "sequential";
  if (strategy === "sequential" && typeof spec.maxWorkers === "number" && spec.maxWorkers !== 1) {
    problems.push({
      path: ["maxWorkers"],
      message: `maxWorkers ${spec.maxWorkers} has no effect with the sequential strategy (one handler at a time); set executionStrategy: concurrent, or remove maxWorkers`,
    });
  }
  if (registry !== undefined) {
    const handlers: Array<[unknown, Array<string | number>]> = [[spec.errorHandler, ["errorHandler"]]];
    for (const [id, routine] of Object.entries(routines ?? {})) {
      if (!isPlainObject(routine)) continue;
      handlers.push([routine.errorHandler, ["routines", id, "errorHandler"]]);
      const name = routine.class;
      if (typeof name === "string" && name !== "" && !registry.has(name)) {
        problems.push({
          path: ["routines", id, "class"],
          message: `unknown routine class '${name}'; register it before loading: registry.register("${name}", ${name}). Registered classes: ${listChoices(name, registry.names())}`,
        });
      }
    }
    for (const [handler, path] of handlers) {
      if (!isPlainObject(handler) || !Array.isArray(handler.retryable)) continue;
      handler.retryable.forEach((name, j) => {
        if (typeof name === "string" && name !== "" && registry.getError(name) === undefined) {
          problems.push({ path: [...path, "retryable", j], message: `unknown error class '${name}'; register it before loading: registry.registerError("${name}", ${name})` });
        }
      });
    }
  }
  if (!Array.isArray(spec.connections)) return problems;
  const ids = Object.keys(routines ?? {});
  const seen = new Map<string, number>();
  spec.connections.forEach((connection: unknown, i) => {
    if (!isPlainObject(connection)) return;
    for (const key of ["from", "to"] as const) {
      const id = endpointRoutine(connection[key]);
      if (id !== undefined && routines !== undefined && !Object.hasOwn(routines, id)) {
        problems.push({ path: ["connections", i, key], message: `unknown routine '${id}'; the flow's routines are: ${listChoices(id, ids)}` });
      }
    }
    if (typeof connection.from !== "string" || typeof connection.to !== "string") return;
    const wire = `${connection.from} -> ${connection.to}`;
    const first = seen.get(wire);
    if (first === undefined) seen.set(wire, i);
    else problems.push({ path: ["connections", i], message: `duplicate connection ${wire} (the same as connections[${first}])` });
  });
  return problems;
}

/**
 * @internal Every problem of a would-be flow spec: structure, schema and the checks that need no
 * routine instances. Class and error names are checked when `registry` is given.
 */
export function specProblems(input: unknown, registry?: RoutineRegistry): SpecProblem[] {
  if (input === null || input === undefined) {
    return [{ path: [], message: "the flow file is empty; expected a mapping with flowId, routines and connections" }];
  }
  if (!isPlainObject(input)) {
    return [{ path: [], message: `expected a mapping with flowId, routines and connections at the top level, got ${describeKind(input)}` }];
  }
  const structure = structureProblems(input);
  const result = flowSpecSchema.safeParse(input);
  const covered = (path: FlowSpecPath): boolean =>
    structure.some((s) => s.path.length <= path.length && s.path.every((p, i) => p === path[i]));
  const schema = result.success ? [] : schemaProblems(input, result.error).filter((p) => !covered(p.path));
  return [...structure, ...schema, ...semanticProblems(input, registry)];
}

/**
 * The JSON Schema (draft 2020-12) of a flow file, written from the same schema the loader checks
 * with; committed as `schema/flow-spec.schema.json` and exported as `routilux/flow-spec.schema.json`.
 */
export function flowSpecJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(flowSpecSchema, { target: "draft-2020-12", io: "input" });
}
