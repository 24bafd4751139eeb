import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { RoutiluxError, SqliteJobStore, loadFlowFile, type Flow, type JobStore, type RoutineRegistry } from "../index.js";

/** Flows loaded from a folder of flow files, with the store they run on. */
export interface LoadedFlows {
  readonly flows: Flow[];
  readonly store: JobStore;
  /** Shuts the flows down, then closes the store. */
  close(): Promise<void>;
}

const FLOW_FILE = /\.(ya?ml|json)$/i;

/**
 * Loads every flow file (`.yaml`, `.yml`, `.json`) of a folder, on one SQLite store: what
 * `routilux serve --flows-dir dir --store path` serves.
 *
 * @param options - `flowsDir` (default `./flows`); `storePath` (default `./.routilux/jobs.db`);
 * `registry`: where routine classes the files name are found (the built-ins always are)
 * @throws (rejects) RoutiluxError for a missing or empty folder; the file's FlowSpecError for a bad flow file
 */
export async function loadFlowsDir(
  options: { flowsDir?: string; storePath?: string; registry?: RoutineRegistry } = {},
): Promise<LoadedFlows> {
  const dir = options.flowsDir ?? "./flows";
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => FLOW_FILE.test(name)).sort();
  } catch (error) {
    throw new RoutiluxError(`Cannot read the flows folder '${dir}': ${(error as Error).message}`, { cause: error });
  }
  if (names.length === 0) throw new RoutiluxError(`The flows folder '${dir}' has no flow files (.yaml, .yml or .json)`);
  const store = new SqliteJobStore(options.storePath === undefined ? {} : { path: options.storePath });
  const flows: Flow[] = [];
  try {
    for (const name of names) flows.push(await loadFlowFile(join(dir, name), options.registry, { store }));
    const ids = new Map<string, string>();
    for (const [i, flow] of flows.entries()) {
      const other = ids.get(flow.flowId);
      if (other !== undefined) throw new RoutiluxError(`Flow files '${other}' and '${names[i]}' both define flow '${flow.flowId}'; flow ids must differ`);
      ids.set(flow.flowId, names[i]!);
    }
  } catch (error) {
    await Promise.all(flows.map((flow) => flow.shutdown()));
    await store.close();
    throw error;
  }
  return {
    flows,
    store,
    close: async () => {
      await Promise.all(flows.map((flow) => flow.shutdown()));
      await store.close();
    },
  };
}
