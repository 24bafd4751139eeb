/**
 * A check of an expression's text before the parser sees it: its length, and how deeply it
 * nests. The parser recurses once per level, so an expression like `((((…` a hundred thousand
 * deep must be refused here, by a loop, rather than by a stack overflow there.
 */

/** A problem found in the text, at an offset. @internal */
export interface SourceProblem {
  readonly offset: number;
  readonly message: string;
}

const OPEN = new Set(["(", "[", "{"]);
const CLOSE = new Set([")", "]", "}"]);
/** After these an operand is expected, so a following `-` or `!` is a prefix operator. */
const BEFORE_OPERAND = new Set(["(", "[", "{", ",", "?", ":", "+", "-", "*", "/", "%", "<", ">", "=", "!", "&", "|"]);
const IDENTIFIER = /[A-Za-z0-9_]/;

/** The end of the string literal whose quote is at `start` (raw if `raw`), or the text's end. */
function skipString(source: string, start: number, raw: boolean): number {
  const quote = source[start] ?? "";
  const triple = source.startsWith(quote.repeat(3), start);
  const close = triple ? quote.repeat(3) : quote;
  let i = start + close.length;
  while (i < source.length) {
    if (!raw && source[i] === "\\") {
      i += 2;
      continue;
    }
    if (source.startsWith(close, i)) return i + close.length;
    if (!triple && source[i] === "\n") return i;
    i++;
  }
  return i;
}

/** Whether the quote at `quote` opens a raw string (`r"…"`, `R'…'`, `rb"…"`, `br"…"`). */
function isRaw(source: string, quote: number): boolean {
  let i = quote - 1;
  let prefix = "";
  while (i >= 0 && IDENTIFIER.test(source[i] ?? "")) prefix = (source[i--] ?? "") + prefix;
  return /^(r|rb|br)$/i.test(prefix);
}

/**
 * The first reason to refuse `source` before parsing it, or undefined.
 *
 * Nesting counts open brackets (`(`, `[`, `{`) and prefix operators (`-`, `!`) still waiting
 * for their operand; string literals and comments do not count.
 * @param maxLength - the most characters allowed
 * @param maxNesting - the deepest nesting allowed
 * @internal
 */
export function scanSource(source: string, maxLength: number, maxNesting: number): SourceProblem | undefined {
  if (source.length > maxLength) {
    return {
      offset: maxLength,
      message: `it is ${source.length.toLocaleString("en-US")} characters long; the limit is ${maxLength.toLocaleString("en-US")}`,
    };
  }
  let depth = 0;
  // Prefix operators waiting at the current bracket level, and those of the enclosing levels.
  let pending = 0;
  const outer: number[] = [];
  let expectOperand = true;
  const deeper = (offset: number): SourceProblem | undefined =>
    ++depth > maxNesting ? { offset, message: `it nests deeper than ${maxNesting} levels` } : undefined;

  for (let i = 0; i < source.length; i++) {
    const ch = source[i] ?? "";
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") continue;
    if (ch === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++;
      continue;
    }
    if (ch === "\"" || ch === "'") {
      i = skipString(source, i, isRaw(source, i)) - 1;
      expectOperand = false;
      continue;
    }
    if (OPEN.has(ch)) {
      outer.push(pending);
      pending = 0;
      const problem = deeper(i);
      if (problem !== undefined) return problem;
      expectOperand = true;
      continue;
    }
    if (CLOSE.has(ch)) {
      depth = Math.max(0, depth - pending - 1);
      pending = outer.pop() ?? 0;
      expectOperand = false;
      continue;
    }
    if ((ch === "-" || ch === "!") && expectOperand && source[i + 1] !== "=") {
      pending++;
      const problem = deeper(i);
      if (problem !== undefined) return problem;
      continue;
    }
    if (BEFORE_OPERAND.has(ch) || ch === ".") {
      // A binary operator ends the operand the prefix operators were waiting for.
      if (ch !== ".") {
        depth -= pending;
        pending = 0;
      }
      expectOperand = ch !== ".";
      continue;
    }
    expectOperand = false;
  }
  return undefined;
}
