import { ErrorHandler } from "../core/error-handler.js";
import { SerializationError, type FlowDefinitionError } from "../core/errors.js";
import type { Routine } from "../core/routine.js";
import { FLOW_DOCUMENT_VERSION, FlowDocumentProblems, RoutineConfigError, checkFlowDocument, type ErrorHandlerDocument, type FlowDocument } from "./flow-document.js";
import { FlowSpecError, formatSpecPath, specError, type FlowSpecPath, type FlowSpecSource } from "./flow-spec-error.js";
import { specProblems, type ErrorHandlerSpec, type FlowSpec, type FlowRoutineSpec } from "./flow-spec.js";
import { RoutineRegistry, defaultRegistry, type ErrorClass, type RoutineConstructor } from "./registry.js";

const DEFAULT_HANDLER = new ErrorHandler();
/** As in FlowDefinition: "sequential" runs one handler at a time. */
const DEFAULT_WORKERS = { sequential: 1, concurrent: 5 } as const;

/** A read view that finds names in `registry`, then in `defaultRegistry`. */
class RegistryWithDefaults extends RoutineRegistry {
  readonly #own: RoutineRegistry;

  constructor(own: RoutineRegistry) {
    super();
    this.#own = own;
  }

  override get(name: string): RoutineConstructor | undefined {
    return this.#own.get(name) ?? defaultRegistry.get(name) ?? super.get(name);
  }

  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  override names(): string[] {
    return [...new Set([...this.#own.names(), ...defaultRegistry.names(), ...super.names()])];
  }

  override nameOf(ctor: abstract new (...args: never[]) => Routine): string | undefined {
    return this.#own.nameOf(ctor) ?? defaultRegistry.nameOf(ctor) ?? super.nameOf(ctor);
  }

  override getError(name: string): ErrorClass | undefined {
    return this.#own.getError(name) ?? defaultRegistry.getError(name) ?? super.getError(name);
  }

  override errorNameOf(ctor: ErrorClass): string | undefined {
    return this.#own.errorNameOf(ctor) ?? defaultRegistry.errorNameOf(ctor) ?? super.errorNameOf(ctor);
  }
}

/**
 * A registry that finds routine and error classes in `registry`, then in {@link defaultRegistry}
 * (which holds the built-ins), as flow files do. Register classes on `registry` itself.
 */
export function registryWithDefaults(registry: RoutineRegistry = defaultRegistry): RoutineRegistry {
  return registry === defaultRegistry || registry instanceof RegistryWithDefaults ? registry : new RegistryWithDefaults(registry);
}

function handlerToDocument(spec: ErrorHandlerSpec | undefined): ErrorHandlerDocument | null {
  if (spec === undefined) return null;
  return {
    strategy: spec.strategy ?? DEFAULT_HANDLER.strategy,
    maxRetries: spec.maxRetries ?? DEFAULT_HANDLER.maxRetries,
    retryDelayMs: spec.retryDelayMs ?? DEFAULT_HANDLER.retryDelayMs,
    retryBackoff: spec.retryBackoff ?? DEFAULT_HANDLER.retryBackoff,
    isCritical: spec.isCritical ?? DEFAULT_HANDLER.isCritical,
    ...(spec.retryable === undefined ? {} : { retryable: [...spec.retryable] }),
  };
}

function handlerToSpec(doc: ErrorHandlerDocument | null): ErrorHandlerSpec | undefined {
  if (doc === null) return undefined;
  // The strategy is always written: `{}` would read as "no handler" to most people, not as "stop".
  const spec: ErrorHandlerSpec = { strategy: doc.strategy };
  if (doc.maxRetries !== DEFAULT_HANDLER.maxRetries) spec.maxRetries = doc.maxRetries;
  if (doc.retryDelayMs !== DEFAULT_HANDLER.retryDelayMs) spec.retryDelayMs = doc.retryDelayMs;
  if (doc.retryBackoff !== DEFAULT_HANDLER.retryBackoff) spec.retryBackoff = doc.retryBackoff;
  if (doc.isCritical !== DEFAULT_HANDLER.isCritical) spec.isCritical = doc.isCritical;
  if (doc.retryable !== undefined) spec.retryable = [...doc.retryable];
  return spec;
}

function split(endpoint: string): [string, string] {
  const dot = endpoint.indexOf(".");
  return [endpoint.slice(0, dot), endpoint.slice(dot + 1)];
}

/**
 * Checks a flow spec and turns it into the {@link FlowDocument} it stands for, with every default
 * filled in. Classes are looked up in `registry`, then in {@link defaultRegistry}. Throws a
 * {@link FlowSpecError} listing every problem, located in `source` when given.
 *
 * @example
 * ```ts
 * const file = await readFlowFile("review.yaml");
 * const doc = specToDocument(file.spec, registry, file);
 * ```
 */
export function specToDocument(spec: FlowSpec, registry?: RoutineRegistry, source: FlowSpecSource = {}): FlowDocument {
  const problems = specProblems(spec, registryWithDefaults(registry));
  if (problems.length > 0) throw specError(problems, source);
  const strategy = spec.executionStrategy ?? "sequential";
  const doc: FlowDocument = {
    version: FLOW_DOCUMENT_VERSION,
    kind: "routilux.flow",
    flowId: spec.flowId,
    executionStrategy: strategy,
    maxWorkers: strategy === "sequential" ? DEFAULT_WORKERS.sequential : spec.maxWorkers ?? DEFAULT_WORKERS.concurrent,
    executionTimeoutMs: spec.executionTimeoutMs ?? null,
    errorHandler: handlerToDocument(spec.errorHandler),
    routines: Object.entries(spec.routines).map(([id, routine]) => ({
      id,
      type: routine.class,
      config: structuredClone(routine.config ?? {}) as FlowDocument["routines"][number]["config"],
      errorHandler: handlerToDocument(routine.errorHandler),
    })),
    connections: (spec.connections ?? []).map((c) => {
      const [sourceRoutineId, sourceEvent] = split(c.from);
      const [targetRoutineId, targetSlot] = split(c.to);
      const mapping = c.paramMapping ?? {};
      // A flow drops an empty mapping, so the document does too.
      const connection: FlowDocument["connections"][number] = { sourceRoutineId, sourceEvent, targetRoutineId, targetSlot };
      if (Object.keys(mapping).length > 0) connection.paramMapping = { ...mapping };
      return connection;
    }),
  };
  return doc;
}

/**
 * Writes a {@link FlowDocument} (from `flow.serialize()`) as a flow spec, leaving out every value
 * that equals its default. Throws a {@link FlowSpecError} for what a flow file cannot hold (a
 * routine id with a ".", a `__proto__` key); a document that is not valid throws a SerializationError.
 */
export function documentToSpec(doc: FlowDocument): FlowSpec {
  const checked = checkFlowDocument(doc);
  const spec: FlowSpec = { flowId: checked.flowId, routines: {} };
  if (checked.executionStrategy !== "sequential") {
    spec.executionStrategy = checked.executionStrategy;
    if (checked.maxWorkers !== DEFAULT_WORKERS.concurrent) spec.maxWorkers = checked.maxWorkers;
  }
  if (checked.executionTimeoutMs !== null) spec.executionTimeoutMs = checked.executionTimeoutMs;
  const flowHandler = handlerToSpec(checked.errorHandler);
  if (flowHandler !== undefined) spec.errorHandler = flowHandler;
  for (const r of checked.routines) {
    const routine: FlowRoutineSpec = { class: r.type };
    if (Object.keys(r.config).length > 0) routine.config = structuredClone(r.config);
    const handler = handlerToSpec(r.errorHandler);
    if (handler !== undefined) routine.errorHandler = handler;
    // defineProperty: an id such as "__proto__" stays an own property (and is then refused below).
    Object.defineProperty(spec.routines, r.id, { value: routine, enumerable: true, writable: true, configurable: true });
  }
  if (checked.connections.length > 0) {
    spec.connections = checked.connections.map((c) => ({
      from: `${c.sourceRoutineId}.${c.sourceEvent}`,
      to: `${c.targetRoutineId}.${c.targetSlot}`,
      ...(c.paramMapping === undefined || Object.keys(c.paramMapping).length === 0 ? {} : { paramMapping: { ...c.paramMapping } }),
    }));
  }
  const problems = specProblems(spec);
  if (problems.length > 0) throw specError(problems, {}, { summary: `Cannot write flow '${checked.flowId}' as a flow file` });
  return spec;
}

/** The path in a flow spec that a path of the FlowDocument built from it stands for. */
function specPathOf(docPath: string, doc: FlowDocument): FlowSpecPath | undefined {
  const parts: Array<string | number> = [];
  for (const m of docPath.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(m[2] === undefined ? m[1] ?? "" : Number(m[2]));
  const [area, index, field, ...rest] = parts;
  if (area === "errorHandler") return parts;
  if (typeof index !== "number") return undefined;
  if (area === "routines") {
    const id = doc.routines[index]?.id;
    if (id === undefined) return undefined;
    return field === "type" || field === "id" ? ["routines", id, "class"] : ["routines", id, ...(field === undefined ? [] : [field]), ...rest];
  }
  if (area === "connections") {
    const side = field === "sourceRoutineId" || field === "sourceEvent" ? "from" : field === "targetRoutineId" || field === "targetSlot" ? "to" : field;
    return ["connections", index, ...(side === undefined ? [] : [side]), ...rest];
  }
  return undefined;
}

/**
 * A routine's refused config, still a FlowDefinitionError, with the file, line and column of the
 * routine's `config` in the flow file: `review.yaml:9:11: routines.route.config: Routine 'route' ...`.
 */
function locatedConfigError(error: RoutineConfigError, source: FlowSpecSource): FlowDefinitionError {
  const path: FlowSpecPath = ["routines", error.routineId, "config"];
  const at = source.positions?.locate(path);
  const location = [source.fileName, at?.line, at?.column].filter((part) => part !== undefined).join(":");
  const prefix = [location, formatSpecPath(path)].filter((part) => part !== "").join(": ");
  return new RoutineConfigError(`${prefix}: ${error.message}`, error.routineId, error.path, error.cause);
}

/**
 * Builds a flow from a spec through `build` (such as `(doc, registry) => Flow.deserialize(doc, registry)`),
 * and turns the failures only a built flow can find (an event or slot its class does not define,
 * a constructor that throws) into a {@link FlowSpecError} at the spec's path and, given the
 * `source` of a parsed file, its line and column. `build` gets a registry that finds classes in
 * `registry`, then in {@link defaultRegistry}.
 *
 * @example
 * ```ts
 * const file = await readFlowFile("review.yaml");
 * const flow = buildFromSpec(file.spec, (doc, reg) => Flow.deserialize(doc, reg), { registry, source: file });
 * ```
 */
export function buildFromSpec<F>(
  spec: FlowSpec,
  build: (doc: FlowDocument, registry: RoutineRegistry) => F,
  options: { registry?: RoutineRegistry | undefined; source?: FlowSpecSource | undefined } = {},
): F {
  const registry = registryWithDefaults(options.registry);
  const source = options.source ?? {};
  const doc = specToDocument(spec, registry, source);
  try {
    return build(structuredClone(doc), registry);
  } catch (error) {
    if (error instanceof RoutineConfigError) throw locatedConfigError(error, source);
    if (error instanceof FlowDocumentProblems) {
      // Every problem at its place in the file, configurations included.
      const problems = error.problems.map((problem) => (problem instanceof RoutineConfigError
        ? { path: ["routines", problem.routineId, "config"], message: problem.message }
        : specProblemOf(problem, doc)));
      throw specError(problems, source, { cause: error });
    }
    if (!(error instanceof SerializationError) || error instanceof FlowSpecError) throw error;
    throw specError([specProblemOf(error, doc)], source, { cause: error });
  }
}

/** A document's error where a flow file's author finds it: the spec's path, in the file's words. */
function specProblemOf(error: Error, doc: FlowDocument): { path: FlowSpecPath; message: string } {
  const docPath = error instanceof SerializationError ? error.path : "";
  const path = specPathOf(docPath, doc) ?? [];
  // The document's wording ("Invalid FlowDocument at ...") means nothing to the file's author.
  const message = error.cause instanceof Error && docPath.startsWith("connections")
    ? error.cause.message
    : error.message.replace(/^Invalid FlowDocument at '[^']*': /, "");
  return { path, message };
}
