import { parse as parseYaml } from "yaml";
import { RoutiluxError, describeError } from "../core/errors.js";
import { findNonJson } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, isPlainObject, jsonType } from "./config.js";

/** The extractors, in their default order: specialised ones first, then the generic ones. */
export const EXTRACTORS = [
  "interpreter_output", "json_code_block", "json_string", "yaml_code_block", "yaml_string", "xml_code_block", "code_block",
  "dict_extractor", "list_extractor",
] as const;
type ExtractorName = (typeof EXTRACTORS)[number];

const STRATEGIES = ["auto", "priority", "all", "first_match"] as const;

const KEYS = [
  "strategy", "extractorPriority", "extractJsonBlocks", "extractCodeBlocks", "extractYamlBlocks", "extractXmlBlocks",
  "codeBlockLanguages", "formatInterpreterOutput", "parseJsonStrings", "parseYamlStrings", "continueOnError",
  "returnOriginalOnFailure",
] as const;

interface ExtractorSettings {
  strategy: (typeof STRATEGIES)[number];
  order: ExtractorName[];
  extractJsonBlocks: boolean;
  extractCodeBlocks: boolean;
  extractYamlBlocks: boolean;
  extractXmlBlocks: boolean;
  codeBlockLanguages: string[];
  formatInterpreterOutput: boolean;
  parseJsonStrings: boolean;
  parseYamlStrings: boolean;
  continueOnError: boolean;
  returnOriginalOnFailure: boolean;
}

function parse(config: Readonly<Record<string, unknown>>): ExtractorSettings {
  const read = new ConfigReader("ResultExtractor", config, KEYS);
  const priority = read.stringList("extractorPriority", [], EXTRACTORS) as ExtractorName[];
  // Named extractors first, in the order given; the others after them, in the default order.
  const order = [...priority, ...EXTRACTORS.filter((name) => !priority.includes(name))];
  return {
    strategy: read.choice("strategy", STRATEGIES, "auto"),
    order: [...new Set(order)],
    extractJsonBlocks: read.boolean("extractJsonBlocks", true),
    extractCodeBlocks: read.boolean("extractCodeBlocks", true),
    extractYamlBlocks: read.boolean("extractYamlBlocks", false),
    extractXmlBlocks: read.boolean("extractXmlBlocks", false),
    codeBlockLanguages: read.stringList("codeBlockLanguages", ["json", "python", "output", "yaml", "xml"]),
    formatInterpreterOutput: read.boolean("formatInterpreterOutput", true),
    parseJsonStrings: read.boolean("parseJsonStrings", true),
    parseYamlStrings: read.boolean("parseYamlStrings", false),
    continueOnError: read.boolean("continueOnError", true),
    returnOriginalOnFailure: read.boolean("returnOriginalOnFailure", true),
  };
}

interface Extracted {
  result: unknown;
  format: string;
  metadata: Record<string, unknown>;
}

/** The result of one extraction, as emitted. */
interface Extraction extends Record<string, unknown> {
  extractedResult: unknown;
  format: string;
  metadata: Record<string, unknown>;
  confidence: number;
  extractionPath: string[];
}

/**
 * The contents of every fenced code block of `language` (` ```json ` or ` ```{json} `, any case,
 * then a line break) in `text`, in order. A linear scan: no regular expression can backtrack on
 * hostile text. @internal
 */
export function codeBlocks(text: string, language: string): string[] {
  const lower = text.toLowerCase();
  const lang = language.toLowerCase();
  const blocks: string[] = [];
  let from = 0;
  for (;;) {
    const start = lower.indexOf("```", from);
    if (start < 0) return blocks;
    let at = start + 3;
    if (lower.startsWith(lang, at)) at += lang.length;
    else if (lower.startsWith(`{${lang}}`, at)) at += lang.length + 2;
    else {
      from = start + 3;
      continue;
    }
    while (at < text.length && (text[at] === " " || text[at] === "\t" || text[at] === "\r")) at++;
    if (text[at] !== "\n") {
      from = start + 3;
      continue;
    }
    const end = text.indexOf("```", at + 1);
    if (end < 0) return blocks;
    blocks.push(text.slice(at + 1, end));
    from = end + 3;
  }
}

/** `value` if JSON holds it as it is; otherwise an error (YAML can give `.inf`). */
function json(value: unknown, what: string): unknown {
  const found = findNonJson(value);
  if (found !== undefined) throw new RoutiluxError(`${what} gave ${found.what}`);
  return value;
}

const extractors: Record<ExtractorName, (data: unknown, s: ExtractorSettings) => Extracted | undefined> = {
  interpreter_output(data, s) {
    if (!Array.isArray(data) || !s.formatInterpreterOutput) return undefined;
    let structured = false;
    const lines: string[] = [];
    for (const output of data) {
      if (isPlainObject(output)) {
        if ("format" in output || "content" in output) {
          structured = true;
          const content = output.content;
          if (output.format === "output" && content !== undefined && content !== null) {
            const text = typeof content === "string" ? content : JSON.stringify(content);
            if (text.trim() !== "") lines.push(text);
          }
        }
      } else if (typeof output === "string" && output.trim() !== "") {
        lines.push(output);
      }
    }
    if (!structured || lines.length === 0) return undefined;
    return {
      result: lines.join("\n"),
      format: "interpreter_output",
      metadata: { extractionMethod: "interpreter_output", outputCount: lines.length, lineCount: lines.length },
    };
  },
  json_code_block(data, s) {
    if (typeof data !== "string" || !s.extractJsonBlocks) return undefined;
    const blocks = codeBlocks(data, "json");
    // The last block that parses wins: an answer's final block is usually the result.
    for (let i = blocks.length - 1; i >= 0; i--) {
      try {
        const result: unknown = JSON.parse(blocks[i]!.trim());
        return { result, format: "json", metadata: { extractionMethod: "json_code_block", blockCount: blocks.length, blockIndex: i } };
      } catch {
        // Not JSON: try the one before.
      }
    }
    return undefined;
  },
  json_string(data, s) {
    if (typeof data !== "string" || !s.parseJsonStrings) return undefined;
    const stripped = data.trim();
    if (!(stripped.startsWith("{") || stripped.startsWith("[")) || stripped.length <= 2) return undefined;
    try {
      return { result: JSON.parse(stripped) as unknown, format: "json", metadata: { extractionMethod: "json_string" } };
    } catch {
      return undefined;
    }
  },
  yaml_code_block(data, s) {
    if (typeof data !== "string" || !s.extractYamlBlocks) return undefined;
    let blocks = codeBlocks(data, "yaml");
    if (blocks.length === 0) blocks = codeBlocks(data, "yml");
    for (let i = blocks.length - 1; i >= 0; i--) {
      let result: unknown;
      try {
        result = parseYaml(blocks[i]!.trim());
      } catch {
        continue;
      }
      return { result: json(result, "a YAML block"), format: "yaml", metadata: { extractionMethod: "yaml_code_block", blockCount: blocks.length } };
    }
    return undefined;
  },
  yaml_string(data, s) {
    if (typeof data !== "string" || !s.parseYamlStrings) return undefined;
    let result: unknown;
    try {
      result = parseYaml(data.trim());
    } catch {
      return undefined;
    }
    if (result === null || result === undefined) return undefined;
    return { result: json(result, "a YAML string"), format: "yaml", metadata: { extractionMethod: "yaml_string" } };
  },
  xml_code_block(data, s) {
    if (typeof data !== "string" || !s.extractXmlBlocks) return undefined;
    const blocks = codeBlocks(data, "xml");
    if (blocks.length === 0) return undefined;
    return { result: blocks[blocks.length - 1], format: "xml", metadata: { extractionMethod: "xml_code_block", blockCount: blocks.length } };
  },
  code_block(data, s) {
    if (typeof data !== "string" || !s.extractCodeBlocks) return undefined;
    for (const lang of s.codeBlockLanguages) {
      if (lang.toLowerCase() === "json") continue; // json_code_block's
      const blocks = codeBlocks(data, lang);
      if (blocks.length > 0) {
        return { result: blocks[blocks.length - 1], format: lang, metadata: { extractionMethod: `${lang}_code_block`, blockCount: blocks.length } };
      }
    }
    return undefined;
  },
  dict_extractor(data) {
    if (!isPlainObject(data)) return undefined;
    return { result: data, format: "dict", metadata: { extractionMethod: "direct", keyCount: Object.keys(data).length } };
  },
  list_extractor(data) {
    if (!Array.isArray(data)) return undefined;
    return { result: data, format: "list", metadata: { extractionMethod: "direct", itemCount: data.length } };
  },
};

function confidenceOf(result: unknown, format: string, metadata: Record<string, unknown>): number {
  let confidence = 0.5;
  if (typeof result === "object" && result !== null) confidence += 0.2;
  const method = metadata.extractionMethod;
  if (typeof method === "string" && method.includes("code_block")) confidence += 0.1;
  if (format === "json" || format === "yaml") confidence += 0.1;
  const empty = result === null || result === "" || result === false || result === 0 ||
    (typeof result === "string" && result.trim() === "") ||
    (typeof result === "object" && Object.keys(result).length === 0);
  if (empty) confidence -= 0.3;
  return Math.round(Math.max(0, Math.min(1, confidence)) * 1000) / 1000;
}

/**
 * Extracts a structured result from a model's or a tool's output: the JSON of a fenced ` ```json `
 * block or of a plain JSON string, YAML, a code block of a given language, a code
 * interpreter's output list, or an object or list as it is.
 *
 * - Slots: `input` (and `trigger`). The value is the message's `data` field when present, else
 *   the message (an empty message is the empty string).
 * - Event: `output { extractedResult, format, metadata, confidence, extractionPath }`: `format` is
 *   `json`, `yaml`, `xml`, a code block's language, `interpreter_output`, `dict` or `list` (or,
 *   when nothing matched, the value's JSON type); `metadata.extractionMethod` and
 *   `metadata.extractor` say how; `confidence` is from 0 to 1 (0 when nothing matched);
 *   `extractionPath` lists the extractors that gave the result.
 * - Config: `strategy` (`"auto"` (default), `"priority"` and `"first_match"` give the first
 *   extractor that matches; `"all"` gives every match, as a list, with `format: "multi"`),
 *   `extractorPriority` (extractor names tried first, in order: `interpreter_output`,
 *   `json_code_block`, `json_string`, `yaml_code_block`, `yaml_string`, `xml_code_block`,
 *   `code_block`, `dict_extractor`, `list_extractor`), `extractJsonBlocks` (true),
 *   `extractCodeBlocks` (true), `extractYamlBlocks` (false), `extractXmlBlocks` (false),
 *   `codeBlockLanguages` (`["json", "python", "output", "yaml", "xml"]`),
 *   `formatInterpreterOutput` (true), `parseJsonStrings` (true), `parseYamlStrings` (false),
 *   `continueOnError` (true: an extractor that throws is noted in `metadata.errors` and the next
 *   is tried), `returnOriginalOnFailure` (true: when nothing matches, the value is passed on with
 *   confidence 0; false: the activation fails).
 *
 * Of several JSON blocks, the last one that parses is taken. Code blocks are found by a linear
 * scan, so hostile text cannot make the search slow; YAML is parsed with the `yaml` package's
 * alias limits, and a YAML value that JSON cannot hold (`.inf`) counts as a failed extraction.
 *
 * @example
 * ```ts
 * const extract = new ResultExtractor();
 * extract.setConfig({ extractorPriority: ["json_code_block"] });
 * // input { data: "Here you go:\n```json\n{\"score\": 3}\n```" } -> output { extractedResult: { score: 3 }, format: "json", ... }
 * ```
 */
export class ResultExtractor extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.extract);
    this.defineSlot("trigger", this.extract);
    this.defineEvent("output", ["extractedResult", "format", "metadata", "confidence", "extractionPath"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Extracts the message's value and emits `output`. */
  protected extract(message: Payload): void {
    let data = valueOf(message);
    if (isPlainObject(data) && Object.keys(data).length === 0) data = "";
    this.emit("output", extractResult(data, this.#settings));
  }
}

/** Runs the extractors on `data` as `settings` say. @internal */
export function extractResult(data: unknown, settings: ExtractorSettings): Extraction {
  const { strategy, continueOnError, returnOriginalOnFailure } = settings;
  const results: Extraction[] = [];
  const errors: Array<{ extractor: string; error: string }> = [];
  for (const name of settings.order) {
    let found: Extracted | undefined;
    try {
      found = extractors[name](data, settings);
    } catch (error) {
      errors.push({ extractor: name, error: `Extractor '${name}' failed: ${describeError(error).message}` });
      if (!continueOnError) break;
      continue;
    }
    if (found === undefined) continue;
    const metadata = { ...found.metadata, extractor: name, strategy };
    const extraction: Extraction = {
      extractedResult: found.result,
      format: found.format,
      metadata,
      confidence: confidenceOf(found.result, found.format, metadata),
      extractionPath: [name],
    };
    if (strategy !== "all") return extraction;
    results.push(extraction);
  }
  if (results.length > 0) {
    return {
      extractedResult: results.map((r) => r.extractedResult),
      format: "multi",
      metadata: { extractions: results, count: results.length, errors },
      confidence: Math.max(...results.map((r) => r.confidence)),
      extractionPath: results.map((r) => r.extractionPath[0]!),
    };
  }
  if (!returnOriginalOnFailure) {
    const why = errors.length === 0 ? "no extractor matched" : errors.map((e) => e.error).join("; ");
    throw new RoutiluxError(`ResultExtractor found no result in a ${jsonType(data)} value: ${why}`);
  }
  return {
    extractedResult: data,
    format: jsonType(data),
    metadata: { extractionMethod: "none", errors, originalType: jsonType(data) },
    confidence: 0,
    extractionPath: [],
  };
}
