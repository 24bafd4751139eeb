import { existsSync } from "node:fs";
import { extname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Routine, RoutineRegistry, type RoutineConstructor } from "../index.js";
import { CliError } from "./errors.js";

/** The routine classes of the `--routines` modules, and where those modules are. */
export interface LoadedRoutines {
  /** The classes the modules export, by export name (a default export by its class name). */
  readonly registry: RoutineRegistry;
  /** Each module as imported: an absolute file path, or a package name. */
  readonly modules: readonly string[];
}

function isRoutineClass(value: unknown): value is RoutineConstructor {
  return typeof value === "function" && (value as { prototype?: unknown }).prototype instanceof Routine;
}

/** A file path (absolute, or relative to the current directory), else a package name. */
function locate(spec: string): string {
  const path = resolve(spec);
  if (existsSync(path)) return path;
  const looksLikePath = spec.startsWith(".") || isAbsolute(spec) || /\.(c|m)?(j|t)sx?$/.test(spec);
  if (looksLikePath) throw new CliError(`Routine module not found: '${spec}' (looked at ${path})`);
  return spec;
}

/**
 * The URL that imports exactly this file: marked so that the command line's resolution hook
 * (bin/resolve-routilux.js) keeps it as it is, where a loader such as tsx would import `x.ts` for
 * `x.js`. Without the hook the mark is a query, which changes nothing.
 */
function exactUrl(path: string): string {
  const url = pathToFileURL(path);
  url.searchParams.set("routilux-exact", "");
  return url.href;
}

/**
 * Imports the modules given with `--routines` (files or package names) and registers the routine
 * classes they export; a module may also register classes in `defaultRegistry` itself. TypeScript
 * modules need a loader such as tsx.
 */
export async function loadRoutines(specs: readonly string[]): Promise<LoadedRoutines> {
  const registry = new RoutineRegistry();
  const modules: string[] = [];
  for (const spec of specs) {
    const where = locate(spec);
    let exports: Record<string, unknown>;
    try {
      exports = await import(isAbsolute(where) ? exactUrl(where) : where) as Record<string, unknown>;
    } catch (error) {
      throw new CliError(importFailure(spec, where, error), 2, { cause: error });
    }
    for (const [name, value] of Object.entries(exports)) {
      if (isRoutineClass(value)) registry.register(name === "default" ? value.name : name, value);
    }
    modules.push(where);
  }
  return { registry, modules };
}

function importFailure(spec: string, where: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  if (code === "ERR_UNKNOWN_FILE_EXTENSION" && /^\.(c|m)?tsx?$/.test(extname(where))) {
    return `Cannot import routine module '${spec}': TypeScript needs a loader; run routilux under tsx (npx tsx node_modules/.bin/routilux ...) or compile the module to JavaScript`;
  }
  if (code === "ERR_MODULE_NOT_FOUND" && where === spec) return `Routine module not found: '${spec}' (neither a file nor an installed package)`;
  const commonJs = code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || code === "ERR_REQUIRE_CYCLE_MODULE" || code === "ERR_REQUIRE_ESM" ||
    /No "exports" main defined|Cannot require\(\) ES Module/.test(message ?? "");
  if (commonJs) {
    return `Cannot import routine module '${spec}': it is loaded as CommonJS; it must be an ES module ` +
      "(.mjs/.mts, or \"type\": \"module\" in package.json)";
  }
  return `Cannot import routine module '${spec}': ${message}`;
}
