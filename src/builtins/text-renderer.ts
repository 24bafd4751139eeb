import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, jsonType } from "./config.js";

const KEYS = ["tagFormat", "indent", "includeTypeHints", "maxDepth"] as const;

interface RendererSettings {
  tagFormat: "xml" | "markdown";
  indent: string;
  includeTypeHints: boolean;
  maxDepth: number;
}

function parse(config: Readonly<Record<string, unknown>>): RendererSettings {
  const read = new ConfigReader("TextRenderer", config, KEYS);
  return {
    tagFormat: read.choice("tagFormat", ["xml", "markdown"], "xml"),
    indent: read.string("indent", "  ", { allowEmpty: true }),
    includeTypeHints: read.boolean("includeTypeHints", false),
    maxDepth: read.number("maxDepth", 100, { min: 1, integer: true, max: 1000 }),
  };
}

/**
 * Renders structured data as text for a prompt or a report: objects and lists as XML-like tags
 * or as Markdown, nested with indentation.
 *
 * - Slots: `input` (and `trigger`). The value is the message's `data` field when present, else
 *   the message.
 * - Event: `output { renderedText, originalType }` (`originalType`: the JSON type of the value:
 *   object, array, string, number, boolean or null).
 * - Config: `tagFormat` (`"xml"`, default, or `"markdown"`), `indent` (default two spaces),
 *   `includeTypeHints` (default false: with it, each tag or item names its JSON type),
 *   `maxDepth` (default 100: deeper values are written as JSON on one line).
 *
 * XML: `{ name: "Ada", langs: ["en"] }` gives
 * ```text
 * <name>Ada</name>
 * <langs>
 *   <item_0>en</item_0>
 * </langs>
 * ```
 * Markdown: `**name**: Ada`, and list items as `- en`. Strings are written as they are (not
 * escaped: the text is for people and language models, not for an XML parser); other scalars as
 * JSON (`42`, `true`, `null`); an empty object or list is written as JSON (`{}`), and renders as
 * an empty string when it is the whole value.
 *
 * @example
 * ```ts
 * const render = new TextRenderer();
 * render.setConfig({ tagFormat: "markdown" });
 * ```
 */
export class TextRenderer extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.render);
    this.defineSlot("trigger", this.render);
    this.defineEvent("output", ["renderedText", "originalType"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Renders the message's value and emits `output`. */
  protected render(message: Payload): void {
    const value = valueOf(message);
    this.emit("output", { renderedText: renderValue(value, this.#settings), originalType: jsonType(value) });
  }
}

/** Renders a value with the given settings. @internal */
export function renderValue(value: unknown, settings: RendererSettings): string {
  const { tagFormat, indent, includeTypeHints, maxDepth } = settings;
  const scalar = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v) ?? "null");
  const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] =>
    typeof v === "object" && v !== null && Object.keys(v).length > 0;

  const lines = (v: Record<string, unknown> | unknown[], depth: number): string[] => {
    const pad = indent.repeat(depth);
    const out: string[] = [];
    const entries: Array<[string, unknown]> = Array.isArray(v) ? v.map((item, i) => [`item_${i}`, item]) : Object.entries(v);
    for (const [key, item] of entries) {
      const hint = includeTypeHints ? jsonType(item) : "";
      const nested = isContainer(item) && depth + 1 < maxDepth;
      if (tagFormat === "xml") {
        const open = hint === "" ? `<${key}>` : `<${key} type="${hint}">`;
        if (nested) out.push(`${pad}${open}`, ...lines(item, depth + 1), `${pad}</${key}>`);
        else out.push(`${pad}${open}${isContainer(item) ? JSON.stringify(item) : scalar(item)}</${key}>`);
      } else {
        const label = Array.isArray(v) ? "-" : `**${key}**:`;
        const typed = hint === "" ? label : `${label} (${hint})`;
        if (nested) out.push(`${pad}${typed}`, ...lines(item, depth + 1));
        else out.push(`${pad}${typed} ${isContainer(item) ? JSON.stringify(item) : scalar(item)}`);
      }
    }
    return out;
  };

  if (!isContainer(value)) return typeof value === "object" && value !== null ? "" : scalar(value);
  return lines(value, 0).join("\n");
}
