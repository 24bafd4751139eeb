import { resolve } from "node:path";
import { loadFlowFile, type Flow, type JobStore, type StoredJob } from "../index.js";
import { CliError, exitCodeOf } from "./errors.js";
import { loadRoutines, type LoadedRoutines } from "./routines.js";

/** The `--routines` option: modules with routine classes, repeatable. */
export interface RoutinesOptions {
  routines?: string[];
}

/** A flow file's flow, with the routines it was built with. */
export interface LoadedFlow {
  readonly flow: Flow;
  /** The flow file, as an absolute path. */
  readonly flowFile: string;
  readonly routines: LoadedRoutines;
}

/** Imports the `--routines` modules and loads the flow file (errors name the file, line and column). */
export async function openFlow(file: string, routineModules: readonly string[], store: JobStore | undefined): Promise<LoadedFlow> {
  const routines = await loadRoutines(routineModules);
  const flow = await loadFlowFile(file, routines.registry, store === undefined ? {} : { store });
  return { flow, flowFile: resolve(file), routines };
}

/**
 * The routine a job starts at: `explicit` when given, else the one routine with a `trigger` slot
 * that no connection leads to.
 */
export function entryOf(flow: Flow, explicit: string | undefined): string {
  if (explicit !== undefined) {
    const routine = flow.getRoutine(explicit);
    if (routine === undefined) {
      throw new CliError(`--entry '${explicit}' is not a routine of flow '${flow.flowId}'; its routines are: ${[...flow.routines.keys()].join(", ")}`);
    }
    if (routine.getSlot("trigger") === undefined) throw new CliError(`--entry '${explicit}' has no 'trigger' slot, so a job cannot start there`);
    return explicit;
  }
  const targets = new Set(flow.connections.map((c) => c.targetRoutineId));
  const starts = [...flow.routines].filter(([id, routine]) => !targets.has(id) && routine.getSlot("trigger") !== undefined).map(([id]) => id);
  if (starts.length === 1) return starts[0]!;
  const withTrigger = [...flow.routines].filter(([, routine]) => routine.getSlot("trigger") !== undefined).map(([id]) => id);
  if (starts.length === 0) {
    throw new CliError(`Flow '${flow.flowId}' has no routine with a 'trigger' slot that no connection leads to; choose one with --entry <id> (with a trigger slot: ${withTrigger.join(", ") || "none"})`);
  }
  throw new CliError(`Flow '${flow.flowId}' could start at ${starts.map((s) => `'${s}'`).join(" or ")}; choose one with --entry <id>`);
}

/** The metadata `run` records with a job, so that later commands can rebuild its flow. */
export function runMetadata(loaded: LoadedFlow): Record<string, unknown> {
  return loaded.routines.modules.length === 0
    ? { flowFile: loaded.flowFile }
    : { flowFile: loaded.flowFile, routines: [...loaded.routines.modules] };
}

/**
 * The flow a stored job runs on: `--flow` (and `--routines`) when given, else the flow file and
 * routine modules `run` recorded in the job's metadata.
 */
export async function flowForJob(
  stored: StoredJob,
  metadata: Readonly<Record<string, unknown>>,
  options: RoutinesOptions & { flow?: string },
  store: JobStore,
): Promise<LoadedFlow> {
  const file = options.flow ?? (typeof metadata.flowFile === "string" ? metadata.flowFile : undefined);
  if (file === undefined) {
    throw new CliError(`Job '${stored.jobId}' (flow '${stored.flowId}') has no flowFile in its metadata (it was not started by routilux run); pass --flow <flow-file>`);
  }
  const recorded = Array.isArray(metadata.routines) ? metadata.routines.filter((m): m is string => typeof m === "string") : [];
  const modules = options.routines !== undefined && options.routines.length > 0 ? options.routines : recorded;
  let loaded: LoadedFlow;
  try {
    loaded = await openFlow(file, modules, store);
  } catch (error) {
    if (options.flow !== undefined && modules !== recorded) throw error;
    // What run recorded may have moved since: say how to point at it.
    const message = error instanceof Error ? error.message : String(error);
    const hint = `job '${stored.jobId}' was run with these; pass --flow <flow-file> or --routines <module> to use others`;
    throw new CliError(`${message} (${hint})`, exitCodeOf(error), { cause: error });
  }
  if (loaded.flow.flowId !== stored.flowId) {
    throw new CliError(`Job '${stored.jobId}' belongs to flow '${stored.flowId}', but flow file '${file}' defines flow '${loaded.flow.flowId}'`);
  }
  return loaded;
}
