import { z } from "zod";
import { ErrorHandler, ErrorStrategy } from "../core/error-handler.js";
import { FlowDefinitionError, SerializationError, describeError, listChoices } from "../core/errors.js";
import type { FlowDefinition, FlowDefinitionOptions } from "../core/flow-definition.js";
import type { Routine } from "../core/routine.js";
import { checkPlainJson, checkVersion, documentError } from "./document-error.js";
import { assertJsonSafe } from "../core/json-value.js";
import type { RoutineRegistry } from "./registry.js";

/** The version of FlowDocument this release writes. */
export const FLOW_DOCUMENT_VERSION = 1;

const id = z.string().min(1);

const errorHandlerSchema = z.strictObject({
  strategy: z.enum(Object.values(ErrorStrategy) as [ErrorStrategy, ...ErrorStrategy[]]),
  maxRetries: z.int().nonnegative(),
  retryDelayMs: z.number().nonnegative(),
  retryBackoff: z.number().min(1),
  isCritical: z.boolean(),
  /** The `retryable` error classes, by their registered names. */
  retryable: z.array(id).optional(),
  /** Why a `retryable` filter was not written (a predicate, or classes no registry names). */
  retryableOmitted: z.string().optional(),
});

const flowDocumentSchema = z.strictObject({
  version: z.literal(FLOW_DOCUMENT_VERSION),
  kind: z.literal("routilux.flow"),
  flowId: id,
  executionStrategy: z.enum(["sequential", "concurrent"]),
  maxWorkers: z.int().positive(),
  executionTimeoutMs: z.number().positive().nullable(),
  errorHandler: errorHandlerSchema.nullable(),
  routines: z.array(z.strictObject({
    id,
    /** The routine's class: its registered name, else its class name. */
    type: id,
    config: z.record(z.string(), z.json()),
    errorHandler: errorHandlerSchema.nullable(),
  })),
  connections: z.array(z.strictObject({
    sourceRoutineId: id,
    sourceEvent: id,
    targetRoutineId: id,
    targetSlot: id,
    paramMapping: z.record(z.string(), id).optional(),
  })),
}).superRefine((doc, ctx) => {
  const ids = new Set<string>();
  doc.routines.forEach((routine, i) => {
    if (ids.has(routine.id)) ctx.addIssue({ code: "custom", path: ["routines", i, "id"], message: `duplicate routine id '${routine.id}'; routine ids are unique per flow` });
    ids.add(routine.id);
  });
  const wires = new Set<string>();
  doc.connections.forEach((c, i) => {
    for (const key of ["sourceRoutineId", "targetRoutineId"] as const) {
      if (!ids.has(c[key])) {
        ctx.addIssue({
          code: "custom",
          path: ["connections", i, key],
          message: `unknown routine id '${c[key]}'; the document's routines are: ${listChoices(c[key], ids)}`,
        });
      }
    }
    const wire = `${c.sourceRoutineId}.${c.sourceEvent}->${c.targetRoutineId}.${c.targetSlot}`;
    if (wires.has(wire)) ctx.addIssue({ code: "custom", path: ["connections", i], message: `duplicate connection ${wire}` });
    wires.add(wire);
  });
});

/**
 * A flow's structure written as plain JSON: routines by registered name with their configuration
 * and error handlers, connections with their parameter mappings, strategy, workers, flowId and
 * timeout. Never job state. Read it back with `Flow.deserialize(doc, registry)`.
 */
export type FlowDocument = z.infer<typeof flowDocumentSchema>;

/** An error handler as a FlowDocument writes it. */
export type ErrorHandlerDocument = z.infer<typeof errorHandlerSchema>;

function encodeErrorHandler(handler: ErrorHandler | undefined, registry: RoutineRegistry): ErrorHandlerDocument | null {
  if (handler === undefined) return null;
  const doc: ErrorHandlerDocument = {
    strategy: handler.strategy,
    maxRetries: handler.maxRetries,
    retryDelayMs: handler.retryDelayMs,
    retryBackoff: handler.retryBackoff,
    isCritical: handler.isCritical,
  };
  const retryable = handler.retryable;
  if (typeof retryable === "function") {
    doc.retryableOmitted = "a retryable predicate cannot be written to a document; after deserialize every error is retryable";
  } else if (retryable !== undefined) {
    const names = retryable.map((cls) => registry.errorNameOf(cls));
    const missing = retryable.filter((_, i) => names[i] === undefined).map((cls) => cls.name || "(anonymous)");
    if (missing.length === 0) {
      doc.retryable = names as string[];
    } else {
      doc.retryableOmitted = `error classes ${missing.join(", ")} are not registered (registry.registerError(name, class)); after deserialize every error is retryable`;
    }
  }
  return doc;
}

function routineType(routine: Routine, routineId: string, index: number, registry: RoutineRegistry): string {
  const ctor = routine.constructor as abstract new () => Routine;
  const name = registry.nameOf(ctor) ?? ctor.name;
  if (typeof name !== "string" || name === "") {
    throw new SerializationError(
      `Cannot serialize routine '${routineId}': it is an instance of an anonymous class, so no name can rebuild it; ` +
      "give the class a name (for defineRoutine: its `name` option), or register it: defaultRegistry.register(\"Name\", TheClass)",
      { path: `routines[${index}].type` },
    );
  }
  return name;
}

/**
 * @internal Writes a flow's structure as a document. Routines are named by their registered name
 * in `registry`, else by their class name. Throws SerializationError for configuration JSON
 * cannot hold, naming its path.
 */
export function encodeFlowDocument(flow: FlowDefinition, registry: RoutineRegistry): FlowDocument {
  const routines: FlowDocument["routines"] = [];
  let index = 0;
  for (const [routineId, routine] of flow.routines) {
    routines.push({
      id: routineId,
      type: routineType(routine, routineId, index++, registry),
      config: { ...routine.config } as FlowDocument["routines"][number]["config"],
      errorHandler: encodeErrorHandler(routine.getErrorHandler(), registry),
    });
  }
  const doc: FlowDocument = {
    version: FLOW_DOCUMENT_VERSION,
    kind: "routilux.flow",
    flowId: flow.flowId,
    executionStrategy: flow.executionStrategy,
    maxWorkers: flow.maxWorkers,
    executionTimeoutMs: flow.executionTimeoutMs ?? null,
    errorHandler: encodeErrorHandler(flow.errorHandler, registry),
    routines,
    connections: flow.connections.map((c) => ({
      sourceRoutineId: c.sourceRoutineId,
      sourceEvent: c.sourceEvent,
      targetRoutineId: c.targetRoutineId,
      targetSlot: c.targetSlot,
      ...(c.paramMapping === undefined ? {} : { paramMapping: { ...c.paramMapping } }),
    })),
  };
  assertJsonSafe(doc, `flow '${flow.flowId}'`);
  // A deep copy, so the document shares no objects with the routines' configuration.
  return JSON.parse(JSON.stringify(doc)) as FlowDocument;
}

function decodeErrorHandler(doc: ErrorHandlerDocument | null, path: string, registry: RoutineRegistry): ErrorHandler | undefined {
  if (doc === null) return undefined;
  const retryable = doc.retryable?.map((name, j) => {
    const cls = registry.getError(name);
    if (cls === undefined) {
      throw new SerializationError(
        `Invalid FlowDocument at '${path}.retryable[${j}]': unknown error class '${name}'; register it before deserializing: ` +
        `defaultRegistry.registerError("${name}", ${name}) (or on the registry passed to Flow.deserialize)`,
        { path: `${path}.retryable[${j}]` },
      );
    }
    return cls;
  });
  return new ErrorHandler({
    strategy: doc.strategy,
    maxRetries: doc.maxRetries,
    retryDelayMs: doc.retryDelayMs,
    retryBackoff: doc.retryBackoff,
    isCritical: doc.isCritical,
    ...(retryable === undefined ? {} : { retryable }),
  });
}

function unknownType(type: string, routineId: string, index: number, registry: RoutineRegistry): SerializationError {
  const path = `routines[${index}].type`;
  const plain = type === "Routine"
    ? " A plain Routine whose slots were defined from outside cannot be rebuilt: define a subclass that defines them in its constructor, and register it."
    : "";
  return new SerializationError(
    `Invalid FlowDocument at '${path}': unknown routine type '${type}' (routine '${routineId}'). ` +
    `Register its class before deserializing: defaultRegistry.register("${type}", ${type}) ` +
    `(or on the registry passed to Flow.deserialize). Registered names: ${listChoices(type, registry.names())}${plain}`,
    { path },
  );
}

/**
 * A routine refused the configuration a document gave it (a built-in's bad expression or value):
 * a FlowDefinitionError whose message names the routine id and class, and which knows the
 * routine's index in the document, so a flow file can add the line.
 * @internal
 */
export class RoutineConfigError extends FlowDefinitionError {
  /** The routine's id. */
  readonly routineId: string;
  /** The document path of its config: `routines[2].config`. */
  readonly path: string;

  constructor(message: string, routineId: string, path: string, cause: unknown) {
    super(message, { cause });
    this.routineId = routineId;
    this.path = path;
  }
}

/**
 * @internal Validates a flow document (version, schema, plain JSON) and returns it typed.
 * Throws SerializationError naming the first bad field.
 */
export function checkFlowDocument(input: unknown): FlowDocument {
  checkVersion("FlowDocument", input, FLOW_DOCUMENT_VERSION);
  const result = flowDocumentSchema.safeParse(input);
  if (!result.success) throw documentError("FlowDocument", input, result.error);
  checkPlainJson("FlowDocument", input);
  return result.data;
}

/** One routine of a document, built and configured; throws what is wrong with it. */
function decodeRoutine(r: FlowDocument["routines"][number], i: number, registry: RoutineRegistry): Routine {
  const ctor = registry.get(r.type);
  if (ctor === undefined) throw unknownType(r.type, r.id, i, registry);
  let routine: Routine;
  try {
    routine = new ctor();
  } catch (error) {
    throw new SerializationError(
      `Cannot rebuild routine '${r.id}' (FlowDocument at 'routines[${i}].type'): new ${r.type}() threw: ${describeError(error).message}; ` +
      "a registered routine class must be constructible without arguments",
      { path: `routines[${i}].type`, cause: error },
    );
  }
  try {
    routine.setConfig(r.config);
  } catch (error) {
    const path = `routines[${i}].config`;
    const message = describeError(error).message;
    if (error instanceof FlowDefinitionError) {
      throw new RoutineConfigError(`Routine '${r.id}' (${r.type}): ${message}`, r.id, path, error);
    }
    throw new SerializationError(`Invalid FlowDocument at '${path}': routine '${r.id}' (${r.type}) refused its config: ${message}`, { path, cause: error });
  }
  routine.setErrorHandler(decodeErrorHandler(r.errorHandler, `routines[${i}].errorHandler`, registry));
  return routine;
}

/**
 * Several problems of one document (routines that cannot be built or configured, connections their
 * classes do not define), each in `problems`; the message lists them all.
 */
export class FlowDocumentProblems extends SerializationError {
  readonly problems: readonly Error[];

  constructor(problems: readonly Error[]) {
    const first = problems[0];
    super(
      `${problems.length} problems in the FlowDocument: ${problems.map((p) => p.message).join("; ")}`,
      { path: first instanceof SerializationError ? first.path : first instanceof RoutineConfigError ? first.path : "", cause: first },
    );
    this.problems = problems;
  }
}

/**
 * @internal Validates a flow document and builds a new flow from it through `registry`. Routine
 * classes are constructed without arguments, then given their configuration and error handler.
 * Throws SerializationError naming the first bad field; builds nothing else on failure.
 * @param create - makes the empty flow from the document's options
 */
export function decodeFlowDocument<F extends FlowDefinition>(
  input: unknown,
  registry: RoutineRegistry,
  create: (options: FlowDefinitionOptions) => F,
): F {
  const doc = structuredClone(checkFlowDocument(input));
  const errorHandler = decodeErrorHandler(doc.errorHandler, "errorHandler", registry);
  const flow = create({
    flowId: doc.flowId,
    executionStrategy: doc.executionStrategy,
    maxWorkers: doc.maxWorkers,
    ...(doc.executionTimeoutMs === null ? {} : { executionTimeoutMs: doc.executionTimeoutMs }),
    ...(errorHandler === undefined ? {} : { errorHandler }),
  });
  // Every routine and connection is tried, so that one error can name every problem.
  const problems: Error[] = [];
  const failed = new Set<string>();
  doc.routines.forEach((r, i) => {
    try {
      flow.addRoutine(decodeRoutine(r, i, registry), r.id);
    } catch (error) {
      problems.push(error as Error);
      failed.add(r.id);
    }
  });
  doc.connections.forEach((c, i) => {
    // A connection of a routine that could not be built would only repeat that routine's problem.
    if (failed.has(c.sourceRoutineId) || failed.has(c.targetRoutineId)) return;
    try {
      flow.connect(c.sourceRoutineId, c.sourceEvent, c.targetRoutineId, c.targetSlot, c.paramMapping);
    } catch (error) {
      if (!(error instanceof FlowDefinitionError)) throw error;
      const field = flow.getRoutine(c.sourceRoutineId)?.getEvent(c.sourceEvent) === undefined ? "sourceEvent" : "targetSlot";
      const path = `connections[${i}].${field}`;
      problems.push(new SerializationError(
        `Invalid FlowDocument at '${path}': ${error.message} (the registered class does not define what the document's writer did)`,
        { path, cause: error },
      ));
    }
  });
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new FlowDocumentProblems(problems);
  return flow;
}
