import type { FlowSpecPath, SourcePosition } from "./flow-spec-error.js";
import { MAX_FLOW_SPEC_NESTING } from "./flow-spec.js";

/** Offsets to 1-based lines and columns. @internal */
export function lineLocator(text: string): (offset: number) => SourcePosition {
  let starts: number[] | undefined;
  return (offset) => {
    if (starts === undefined) {
      starts = [0];
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    }
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
  };
}

/** Reads valid JSON text (already accepted by JSON.parse) for offsets, without building values. @internal */
export class JsonText {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  #ws(): void {
    const text = this.#text;
    while (this.#pos < text.length && " \t\n\r".includes(text[this.#pos] ?? "")) this.#pos++;
  }

  #string(): string {
    const text = this.#text;
    const from = this.#pos;
    let i = from + 1;
    while (i < text.length && text[i] !== "\"") i += text[i] === "\\" ? 2 : 1;
    this.#pos = i + 1;
    return JSON.parse(text.slice(from, this.#pos)) as string;
  }

  /** Skips one value; containers by counting brackets, so that depth costs no stack. */
  #skip(): void {
    const text = this.#text;
    const c = text[this.#pos];
    if (c === "\"") {
      this.#string();
    } else if (c === "{" || c === "[") {
      let depth = 0;
      do {
        const d = text[this.#pos];
        if (d === "\"") {
          this.#string();
          continue;
        }
        if (d === "{" || d === "[") depth++;
        else if (d === "}" || d === "]") depth--;
        this.#pos++;
      } while (depth > 0 && this.#pos < text.length);
    } else {
      while (this.#pos < text.length && !",}] \t\n\r".includes(text[this.#pos] ?? "")) this.#pos++;
    }
  }

  /** Calls `member` for each member of the object or item of the array at the cursor, which is left after it. */
  #members(member: (key: string | number, keyStart: number) => void): void {
    const text = this.#text;
    const open = text[this.#pos];
    const close = open === "{" ? "}" : "]";
    this.#pos++;
    this.#ws();
    for (let index = 0; text[this.#pos] !== close && this.#pos < text.length; index++) {
      const keyStart = this.#pos;
      let key: string | number = index;
      if (open === "{") {
        key = this.#string();
        this.#ws();
        this.#pos++; // ":"
        this.#ws();
      }
      member(key, keyStart);
      this.#ws();
      if (text[this.#pos] === ",") this.#pos++;
      this.#ws();
    }
    this.#pos++;
  }

  /** Keys written twice in one object (JSON.parse keeps the last silently). */
  duplicates(): Array<{ path: Array<string | number>; offset: number }> {
    const found: Array<{ path: Array<string | number>; offset: number }> = [];
    const walk = (path: Array<string | number>): void => {
      const c = this.#text[this.#pos];
      if ((c !== "{" && c !== "[") || path.length >= MAX_FLOW_SPEC_NESTING) {
        this.#skip();
        return;
      }
      const seen = new Set<string>();
      this.#members((key, keyStart) => {
        if (typeof key === "string") {
          if (seen.has(key)) found.push({ path: [...path, key], offset: keyStart });
          seen.add(key);
        }
        walk([...path, key]);
      });
    };
    this.#pos = 0;
    this.#ws();
    walk([]);
    return found;
  }

  /** The offset of the value (or key) at `path`, else of its closest ancestor; the last of duplicate keys, as JSON.parse. */
  locate(path: FlowSpecPath, part: "key" | "value"): number {
    this.#pos = 0;
    this.#ws();
    let offset = this.#pos;
    for (const [i, segment] of path.entries()) {
      const c = this.#text[this.#pos];
      if ((c !== "{" || typeof segment !== "string") && (c !== "[" || typeof segment !== "number")) break;
      let hit: { key: number; value: number } | undefined;
      this.#members((key, keyStart) => {
        if (key === segment) hit = { key: keyStart, value: this.#pos };
        this.#skip();
      });
      if (hit === undefined) break;
      if (i === path.length - 1 && part === "key") return hit.key;
      offset = hit.value;
      this.#pos = hit.value;
    }
    return offset;
  }
}

