import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, isPlainObject } from "./config.js";

const KEYS = ["maxLength", "preserveTracebacks", "truncationMessage"] as const;

interface ClipperSettings {
  maxLength: number;
  preserveTracebacks: boolean;
  truncationMessage: string;
}

function parse(config: Readonly<Record<string, unknown>>): ClipperSettings {
  const read = new ConfigReader("TextClipper", config, KEYS);
  return {
    maxLength: read.number("maxLength", 1000, { min: 1, integer: true }),
    preserveTracebacks: read.boolean("preserveTracebacks", true),
    truncationMessage: read.string("truncationMessage", "...({remaining} more lines)", { allowEmpty: true }),
  };
}

/** The text of a value: a string as it is, an object's `text` string field, anything else as JSON. */
function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (isPlainObject(value) && typeof value.text === "string") return value.text;
  return JSON.stringify(value) ?? String(value);
}

/**
 * Clips text to at most `maxLength` characters, cutting at a line boundary and saying how many
 * lines were left out.
 *
 * - Slots: `input` (and `trigger`, so it can start a job). The text is the message's `data` field
 *   when present, else the message; a string is clipped as it is, an object's `text` string field
 *   is used, anything else is clipped as its JSON text.
 * - Event: `output { clippedText, wasClipped, originalLength }`.
 * - Config: `maxLength` (characters, default 1000), `preserveTracebacks` (default true: a text
 *   containing "Traceback" is passed whole), `truncationMessage` (default
 *   `"...({remaining} more lines)"`, appended on its own line; `{remaining}` is the number of lines
 *   left out).
 *
 * Whole lines are kept while they fit; a first line longer than `maxLength` is cut at
 * `maxLength` characters. The truncation message is added after the kept text, so a clipped
 * text can be longer than `maxLength` by the message's length.
 *
 * @example
 * ```ts
 * const clip = new TextClipper();
 * clip.setConfig({ maxLength: 200 });
 * flow.addRoutine(clip, "clip");
 * flow.connect("llm", "answered", "clip", "input"); // { data: "a long answer..." }
 * ```
 */
export class TextClipper extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.clip);
    this.defineSlot("trigger", this.clip);
    this.defineEvent("output", ["clippedText", "wasClipped", "originalLength"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Clips the message's text and emits `output`. */
  protected clip(message: Payload): void {
    const text = textOf(valueOf(message));
    const { maxLength, preserveTracebacks, truncationMessage } = this.#settings;
    const [clippedText, wasClipped] = preserveTracebacks && text.includes("Traceback")
      ? [text, false]
      : clipText(text, maxLength, truncationMessage);
    this.emit("output", { clippedText, wasClipped, originalLength: text.length });
  }
}

/** Keeps whole lines while they fit in `maxLength` (counting their newlines), then adds the message. @internal */
export function clipText(text: string, maxLength: number, truncationMessage: string): [string, boolean] {
  if (text.length <= maxLength) return [text, false];
  const lines = text.split("\n");
  const head: string[] = [];
  let count = 0;
  for (const line of lines) {
    const length = line.length + (head.length > 0 ? 1 : 0);
    if (count + length > maxLength) break;
    count += length;
    head.push(line);
  }
  let kept = head.join("\n");
  // Lines not kept whole; a first line longer than the limit keeps its start and counts as cut.
  const remaining = lines.length - head.length;
  if (head.length === 0) kept = (lines[0] ?? "").slice(0, maxLength);
  const note = truncationMessage.replaceAll("{remaining}", String(remaining));
  return [note === "" ? kept : `${kept}\n${note}`, true];
}
