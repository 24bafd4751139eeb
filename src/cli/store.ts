import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { SqliteJobStore, type JobStore } from "../index.js";
import { CliError, ExitCode } from "./errors.js";

/** Where the command line keeps jobs when no `--store` is given (as `new SqliteJobStore()` does). */
export const DEFAULT_STORE_PATH = ".routilux/jobs.db";

/** The `--store` option every command that reads or writes jobs takes. */
export interface StoreOptions {
  store?: string;
}

/** The store's file: `--store`, else the default, resolved against the current directory. */
export function storePathOf(options: StoreOptions): string {
  return resolve(options.store ?? DEFAULT_STORE_PATH);
}

/** The `--store` part of a suggested command line: empty for the default store. */
export function storeArgument(options: StoreOptions): string {
  return options.store === undefined ? "" : ` --store ${quoteArgument(options.store)}`;
}

/** An argument as a shell would need it quoted. */
export function quoteArgument(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * Opens the SQLite job store. With `create`, a missing file is created (`run`); without, a missing
 * file is bad input, named with how to fix it.
 */
export function openStore(options: StoreOptions, create: boolean): JobStore {
  const path = storePathOf(options);
  if (!create && !existsSync(path)) {
    throw new CliError(
      `No job store at '${path}': ${options.store === undefined ? "run a flow first (routilux run <flow-file>) or pass --store <path>" : "check the --store path"}`,
    );
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new CliError(`Expected a job store file at '${path}', got a directory`);
  try {
    return new SqliteJobStore({ path });
  } catch (error) {
    throw new CliError(`Cannot open the job store '${path}': ${error instanceof Error ? error.message : String(error)}`, ExitCode.USAGE, { cause: error });
  }
}

/** Runs `fn` with an open store and closes the store afterwards, whatever happens. */
export async function withStore<T>(options: StoreOptions, create: boolean, fn: (store: JobStore) => Promise<T>): Promise<T> {
  const store = openStore(options, create);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
