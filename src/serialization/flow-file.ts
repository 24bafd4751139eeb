import { readFile, stat } from "node:fs/promises";
import { Document, LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node } from "yaml";
import { RoutiluxError, describeError } from "../core/errors.js";
import { specError, type FlowSpecPositions, type SourcePosition, type SpecProblem } from "./flow-spec-error.js";
import { registryWithDefaults } from "./flow-spec-document.js";
import { MAX_FLOW_SPEC_NESTING, specProblems, type FlowSpec } from "./flow-spec.js";
import { JsonText, lineLocator } from "./json-positions.js";
import type { RoutineRegistry } from "./registry.js";

/** The text formats of a flow file. */
export type FlowFileFormat = "yaml" | "json";

/** Flow files longer than this many characters are refused before they are parsed. */
export const MAX_FLOW_FILE_LENGTH = 10 * 1024 * 1024;

/**
 * Aliases may expand to at most this many nodes in all (the yaml package's `maxAliasCount`): a
 * "billion laughs" file fails at once instead of filling the memory.
 */
const MAX_ALIAS_COUNT = 100;

/** A parsed flow file: the spec, where each of its values is written, and the file it came from. */
export interface ParsedFlowSpec {
  /** The checked spec: plain JSON data, with no object shared between two places. */
  spec: FlowSpec;
  /** Where each value of the spec is written; pass the whole result as `source` to locate later problems. */
  positions: FlowSpecPositions;
  /** The format the text was read as. */
  format: FlowFileFormat;
  /** The file name given, named in errors. */
  fileName?: string | undefined;
}

/** Options of {@link parseFlowSpec}. */
export interface ParseFlowSpecOptions {
  /** Named in errors; its extension (`.yaml`, `.yml`, `.json`) chooses the format. */
  fileName?: string | undefined;
  /** The format, when the file name does not tell it. Default: by extension, else by content. */
  format?: FlowFileFormat | undefined;
  /** Also check class and error names: in this registry, then in `defaultRegistry`. Default: not checked here. */
  registry?: RoutineRegistry | undefined;
}

// ---------------------------------------------------------------------------------------------
// YAML

function yamlKey(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  // As the yaml package's toJS names keys: null is "", a number or boolean its string.
  const value: unknown = node.value;
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" ? String(value) : undefined;
}

function start(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

/** Positions in a YAML document: a walk down its nodes, through aliases to what they name. */
function yamlPositions(doc: Document.Parsed, at: (offset: number) => SourcePosition): FlowSpecPositions {
  return {
    locate(path, part = "value") {
      let node: unknown = doc.contents;
      let offset = start(doc.contents);
      for (const [i, segment] of path.entries()) {
        if (isAlias(node)) node = node.resolve(doc);
        const last = i === path.length - 1;
        if (isMap(node)) {
          const pair = node.items.findLast((p) => yamlKey(p.key) === String(segment));
          if (pair === undefined) break;
          const keyStart = start(pair.key as Node);
          if (last && part === "key") return keyStart === undefined ? undefined : at(keyStart);
          node = pair.value;
          offset = start(pair.value as Node | null) ?? keyStart ?? offset;
        } else if (isSeq(node) && typeof segment === "number") {
          node = node.items[segment];
          if (node === undefined) break;
          offset = start(node as Node) ?? offset;
        } else {
          break;
        }
      }
      return offset === undefined ? undefined : at(offset);
    },
  };
}

/** The path of the deepest node around `offset`, to name where a syntax error is (best effort). */
function yamlPathAt(doc: Document.Parsed, offset: number): Array<string | number> {
  const path: Array<string | number> = [];
  const around = (from: number | undefined, node: unknown): boolean => {
    const end = (node as Node | null)?.range?.[2];
    return from !== undefined && from <= offset && (end === undefined || offset <= end);
  };
  let node: unknown = doc.contents;
  while (path.length < MAX_FLOW_SPEC_NESTING) {
    if (isMap(node)) {
      const pair = node.items.findLast((p) => (start(p.key as Node | null) ?? Infinity) <= offset);
      const key = yamlKey(pair?.key);
      // An empty key is what error recovery makes of a broken line: no path to name there.
      if (pair === undefined || key === undefined || key === "" || !around(start(pair.key as Node | null), pair.value ?? pair.key)) break;
      path.push(key);
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findLastIndex((item) => (start(item as Node | null) ?? Infinity) <= offset);
      const item = node.items[index];
      if (item === undefined || !around(start(item as Node | null), item)) break;
      path.push(index);
      node = item;
    } else {
      break;
    }
  }
  return path;
}

/** Keys that JavaScript objects cannot hold as written (collections, aliases) or that collide once they are strings. */
function yamlKeyProblems(doc: Document.Parsed, at: (offset: number) => SourcePosition): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const walk = (node: unknown, path: Array<string | number>): void => {
    if ((isSeq(node) || isMap(node)) && path.length >= MAX_FLOW_SPEC_NESTING) {
      problems.push({ path, message: `nested too deep: flow files are limited to ${MAX_FLOW_SPEC_NESTING} levels`, position: positionOf(node) });
      return;
    }
    if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = yamlKey(pair.key);
      if (key === undefined) {
        problems.push({ path, message: "a key must be a plain string, not a list, a mapping or an alias", position: positionOf(pair.key) });
        continue;
      }
      if (seen.has(key)) problems.push({ path: [...path, key], message: `duplicate key '${key}'`, position: positionOf(pair.key) });
      seen.add(key);
      walk(pair.value, [...path, key]);
    }
  };
  const positionOf = (node: unknown): SourcePosition | undefined => {
    const offset = start(node as Node | null);
    return offset === undefined ? undefined : at(offset);
  };
  walk(doc.contents, []);
  return problems;
}

function parseYaml(text: string): { value: unknown; positions: FlowSpecPositions; problems: SpecProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    // Plain YAML 1.2 core: no `!!binary`, `!!set` or `!!timestamp` objects, no `<<` merge keys.
    resolveKnownTags: false,
    merge: false,
    // Not "silent": that level also drops the error for a second document in the file.
    logLevel: "error",
  });
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const positions = yamlPositions(doc, at);
  const syntax = [...doc.errors, ...doc.warnings].map((e): SpecProblem => ({
    path: yamlPathAt(doc, e.pos[0]),
    message: e.code === "TAG_RESOLVE_FAILED"
      ? `${e.message}; flow files use plain YAML values only`
      : e.code === "RESOURCE_EXHAUSTION" ? `nested too deep for the YAML parser (${e.message}); flow files are limited to ${MAX_FLOW_SPEC_NESTING} levels` : e.message,
    position: at(e.pos[0]),
  }));
  if (syntax.length > 0) return { value: undefined, positions, problems: syntax };
  const keys = yamlKeyProblems(doc, at);
  if (keys.length > 0) return { value: undefined, positions, problems: keys };
  try {
    const value: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return { value, positions, problems: [] };
  } catch (error) {
    const message = `aliases expand too much (a file that grows when its aliases are expanded is refused; limit ${MAX_ALIAS_COUNT} nodes): ${describeError(error).message}`;
    return { value: undefined, positions, problems: [{ path: [], message }] };
  }
}

function parseJson(text: string): { value: unknown; positions: FlowSpecPositions; problems: SpecProblem[] } {
  const at = lineLocator(text);
  const json = new JsonText(text);
  const positions: FlowSpecPositions = { locate: (path, part = "value") => at(json.locate(path, part)) };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (text.trim() === "") return { value: null, positions, problems: [] };
    const message = describeError(error).message;
    const offset = /at position (\d+)/.exec(message)?.[1];
    const detail = message.replace(/ in JSON at position \d+.*$/, "");
    return { value: undefined, positions, problems: [{ path: [], message: `invalid JSON: ${detail}`, position: at(offset === undefined ? text.length : Number(offset)) }] };
  }
  const problems = json.duplicates().map((d): SpecProblem => ({ path: d.path, message: `duplicate key '${String(d.path[d.path.length - 1])}'`, position: at(d.offset) }));
  return { value, positions, problems };
}

// ---------------------------------------------------------------------------------------------

function formatOf(text: string, options: ParseFlowSpecOptions): FlowFileFormat {
  if (options.format !== undefined) return options.format;
  const name = options.fileName?.toLowerCase() ?? "";
  if (name.endsWith(".json")) return "json";
  if (name.endsWith(".yaml") || name.endsWith(".yml")) return "yaml";
  // YAML reads most JSON too, but JSON's own parser is faster and its errors fit JSON better.
  if (!text.trimStart().startsWith("{")) return "yaml";
  try {
    JSON.parse(text);
    return "json";
  } catch {
    return "yaml";
  }
}

/**
 * Parses the text of a flow file, YAML or JSON, and checks it: syntax, schema, and every rule that
 * needs no routine class (references, duplicates; class names too when `registry` is given).
 * Throws a {@link FlowSpecError} listing every problem with its path, line and column.
 *
 * @example
 * ```ts
 * const { spec, positions } = parseFlowSpec(text, { fileName: "review.yaml" });
 * ```
 */
export function parseFlowSpec(text: string, options: ParseFlowSpecOptions = {}): ParsedFlowSpec {
  const source = { fileName: options.fileName };
  if (typeof text !== "string") {
    throw new RoutiluxError(`Expected the text of a flow file to be a string, got ${typeof text}`);
  }
  if (text.length > MAX_FLOW_FILE_LENGTH) {
    throw specError([{ path: [], message: `the file has ${text.length} characters; flow files are limited to ${MAX_FLOW_FILE_LENGTH}` }], source);
  }
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const format = formatOf(body, options);
  const parsed = format === "json" ? parseJson(body) : parseYaml(body);
  const registry = options.registry === undefined ? undefined : registryWithDefaults(options.registry);
  const problems = parsed.problems.length > 0 ? parsed.problems : specProblems(parsed.value, registry);
  if (problems.length > 0) throw specError(problems, { ...source, positions: parsed.positions });
  // A copy through JSON: an alias of YAML gives each place it is used its own object, as JSON would.
  const spec = (format === "yaml" ? JSON.parse(JSON.stringify(parsed.value)) : parsed.value) as FlowSpec;
  return { spec, positions: parsed.positions, format, fileName: options.fileName };
}

/**
 * Writes a flow spec as the text of a flow file: YAML (connections one per line) or JSON
 * (indented by two spaces). It writes what it is given; {@link parseFlowSpec} reads it back.
 */
export function stringifyFlowSpec(spec: FlowSpec, format: FlowFileFormat = "yaml"): string {
  if (format === "json") return `${JSON.stringify(spec, null, 2)}\n`;
  if (format !== "yaml") throw new RoutiluxError(`Expected the format to be "yaml" or "json", got ${String(format)}`);
  // No anchors for objects that occur twice: a hand-edited file reads better without them.
  const doc = new Document(spec, { aliasDuplicateObjects: false });
  const connections = doc.get("connections", true);
  if (isSeq(connections)) {
    for (const item of connections.items) if (isMap(item)) item.flow = true;
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * Reads and parses a flow file (see {@link parseFlowSpec}); the format follows the extension,
 * else the content. A missing or unreadable file is a {@link RoutiluxError} naming the path.
 *
 * @example
 * ```ts
 * const file = await readFlowFile("flows/review.yaml");
 * const flow = buildFromSpec(file.spec, (doc, reg) => Flow.deserialize(doc, reg), { registry, source: file });
 * ```
 */
export async function readFlowFile(path: string, options: Omit<ParseFlowSpecOptions, "fileName"> = {}): Promise<ParsedFlowSpec> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new RoutiluxError(`Expected a flow file at '${path}', got a directory`);
    if (info.size > MAX_FLOW_FILE_LENGTH * 4) {
      throw new RoutiluxError(`Flow file '${path}' has ${info.size} bytes; flow files are limited to ${MAX_FLOW_FILE_LENGTH} characters`);
    }
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof RoutiluxError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") throw new RoutiluxError(`Flow file not found: '${path}'; check the path (relative paths start at ${process.cwd()})`, { cause: error });
    throw new RoutiluxError(`Cannot read flow file '${path}': ${describeError(error).message}`, { cause: error });
  }
  return parseFlowSpec(text, { ...options, fileName: path });
}
