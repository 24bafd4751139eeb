import type { StandardSchemaV1, StandardJSONSchemaV1 } from "@standard-schema/spec";
import type { Flow } from "../index.js";

/** A slot as the API shows it: its name, merge strategy and, when it has one, its schema as JSON Schema. */
export interface SlotJson {
  readonly name: string;
  readonly mergeStrategy: "override" | "append" | "custom";
  /** The slot's schema as JSON Schema, when its schema library can write one (zod 4 can). */
  readonly schema?: Record<string, unknown>;
  /** True when the slot has a schema, written out or not. */
  readonly validated: boolean;
}

/** A routine as the API shows it. */
export interface RoutineJson {
  readonly id: string;
  readonly className: string;
  readonly config: Record<string, unknown>;
  readonly slots: SlotJson[];
  readonly events: Array<{ readonly name: string; readonly params: string[] }>;
}

/** A flow's structure as the API shows it: routines with their slots and events (the graph's ports), and connections. */
export interface FlowGraphJson {
  readonly flowId: string;
  readonly executionStrategy: string;
  readonly maxWorkers: number;
  /** The routines with a `trigger` slot: where a job can start. */
  readonly entryRoutineIds: string[];
  readonly routines: RoutineJson[];
  readonly connections: Array<{
    readonly id: string;
    readonly from: { readonly routineId: string; readonly event: string };
    readonly to: { readonly routineId: string; readonly slot: string };
    readonly paramMapping?: Record<string, string>;
  }>;
}

/** A slot's Standard Schema as JSON Schema, when its library implements the Standard JSON Schema interface. */
export function schemaToJson(schema: StandardSchemaV1 | undefined): Record<string, unknown> | undefined {
  if (schema === undefined) return undefined;
  const props = schema["~standard"] as Partial<StandardJSONSchemaV1.Props>;
  try {
    return props.jsonSchema?.input({ target: "draft-2020-12" });
  } catch {
    return undefined;
  }
}

/** The routines of a flow where a job can start (those with a `trigger` slot). */
export function entryRoutinesOf(flow: Flow): string[] {
  return [...flow.routines].filter(([, routine]) => routine.getSlot("trigger") !== undefined).map(([id]) => id);
}

/** A flow's graph: routines with ports, and connections. */
export function flowGraph(flow: Flow): FlowGraphJson {
  const routines = [...flow.routines].map(([id, routine]): RoutineJson => ({
    id,
    className: routine.constructor.name,
    config: { ...routine.config },
    slots: [...routine.slots.values()].map((slot) => {
      const schema = schemaToJson(slot.schema);
      const merge = slot.mergeStrategy;
      return {
        name: slot.name,
        mergeStrategy: typeof merge === "function" ? "custom" : merge,
        validated: slot.schema !== undefined,
        ...(schema === undefined ? {} : { schema }),
      };
    }),
    events: [...routine.events.values()].map((event) => ({ name: event.name, params: [...event.outputParams] })),
  }));
  return {
    flowId: flow.flowId,
    executionStrategy: flow.executionStrategy,
    maxWorkers: flow.maxWorkers,
    entryRoutineIds: entryRoutinesOf(flow),
    routines,
    connections: flow.connections.map((c) => ({
      id: c.id,
      from: { routineId: c.sourceRoutineId, event: c.sourceEvent },
      to: { routineId: c.targetRoutineId, slot: c.targetSlot },
      ...(c.paramMapping === undefined ? {} : { paramMapping: { ...c.paramMapping } }),
    })),
  };
}
