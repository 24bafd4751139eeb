/**
 * Compiling and evaluating expressions: the checks made when an expression is configured, and
 * the bounded, failure-contained evaluation on each message.
 */
import { EvaluationError, ParseError, TypeError as CelTypeError, type ParseResult } from "@marcbachmann/cel-js";
import { FlowDefinitionError, RoutiluxError, describeError, showValue } from "../../core/errors.js";
import { builtInNames, environmentFor } from "./environment.js";
import { inputView, toJson, type JsonValue } from "./json-view.js";
import { Meter, withMeter } from "./meter.js";
import { scanSource } from "./source-scan.js";
import { checkTree } from "./tree-check.js";

/** The limits every expression is held to. */
export const EXPRESSION_LIMITS = Object.freeze({
  /** The longest expression, in characters. */
  maxLength: 10_000,
  /** The deepest nesting of brackets and prefix operators in the text. */
  maxNesting: 100,
  /** The deepest parse tree (a chain `1 + 1 + … + 1` is as deep as it is long). */
  maxTreeDepth: 250,
  /** Cost units one evaluation may spend: 1 per node run and per input read, plus the size of lists and strings made or read. */
  budget: 1_000_000,
});

/** What an expression is for: a `condition` must give a boolean; a `value` gives any JSON value. */
export type ExpressionKind = "condition" | "value";

/** Options of {@link compileExpression}. */
export interface CompileOptions {
  /** What the expression is for (default `"value"`). */
  kind?: ExpressionKind;
  /** Where the expression is configured, for messages: `routine 'route' config routes[0].when`. */
  where?: string;
  /** Top-level names the expression may use besides `data` and `config`. */
  names?: readonly string[];
}

/** The values of an expression's top-level names: `data`, `config` and any declared others. */
export type ExpressionScope = Readonly<Record<string, unknown>>;

/** A compiled expression, to evaluate on many messages. */
export interface Expression {
  /** The expression as configured. */
  readonly source: string;
  readonly kind: ExpressionKind;
  /**
   * Evaluates the expression.
   * @returns a plain JSON value (a boolean for a condition)
   * @throws RoutiluxError naming the expression and the cause, when it fails on these inputs
   */
  evaluate(scope: ExpressionScope): JsonValue;
}

/** A compiled condition. */
export interface Condition {
  /** The expression as configured. */
  readonly source: string;
  /** True when the condition holds; false when it does not, gives no boolean, or fails. Never throws. */
  test(scope: ExpressionScope): boolean;
  /**
   * Evaluates the condition, for a caller that wants to know why it failed.
   * @throws RoutiluxError when it fails or gives something other than a boolean
   */
  evaluate(scope: ExpressionScope): boolean;
}

const DEFAULT_NAMES = ["data", "config"] as const;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Words CEL keeps for itself, and the refused property names. */
const RESERVED = new Set([
  "as", "break", "const", "continue", "else", "false", "for", "function", "if", "import", "in", "let", "loop", "namespace",
  "null", "package", "return", "true", "var", "void", "while", "__proto__", "prototype", "constructor",
]);
/** Static types of results that are not JSON. */
const NON_JSON_TYPES = new Set(["bytes", "google.protobuf.Duration", "type"]);
const SHOWN_LENGTH = 60;

/** The expression as messages quote it: in full when short, else its start and its length. */
function shown(source: string): string {
  if (source.length <= SHOWN_LENGTH) return JSON.stringify(source);
  return `${JSON.stringify(source.slice(0, SHOWN_LENGTH)).slice(0, -1)}…" (${source.length.toLocaleString("en-US")} characters)`;
}

/** An offset as messages give it, with its line and column when the expression has several lines. */
function position(source: string, offset: number): string {
  if (!source.includes("\n")) return String(offset);
  const before = source.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return `${offset} (line ${line}, column ${column})`;
}

function checkNames(extra: readonly string[] | undefined): string[] {
  const names: string[] = [...DEFAULT_NAMES];
  for (const name of extra ?? []) {
    if (typeof name !== "string" || !IDENTIFIER.test(name) || RESERVED.has(name) || builtInNames().has(name)) {
      throw new FlowDefinitionError(
        `Expected each name of an expression to be an identifier that is neither a reserved word nor a CEL type, got ${showValue(name)}`);
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The library's own message, without the source excerpt it appends. */
function summary(error: unknown): string {
  if (error instanceof ParseError || error instanceof CelTypeError || error instanceof EvaluationError) return error.summary;
  return describeError(error).message;
}

/** Where the library places an error, if it does. */
function offsetOf(error: unknown): number | undefined {
  if (error instanceof ParseError || error instanceof CelTypeError || error instanceof EvaluationError) return error.range?.start;
  return undefined;
}

/** The names' values as the library reads them: read-only views, own data properties only. */
function contextFor(scope: ExpressionScope, names: readonly string[]): Record<string, unknown> {
  if (typeof scope !== "object" || scope === null) throw new TypeError(`the scope is ${showValue(scope)}, not an object of names`);
  const context: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const name of names) {
    const descriptor = Object.getOwnPropertyDescriptor(scope, name);
    if (descriptor === undefined) continue;
    if (!("value" in descriptor)) throw new TypeError(`${name} is a getter or setter in the scope, not a value`);
    context[name] = inputView(name, descriptor.value);
  }
  return context;
}

/**
 * Compiles an expression once, checking everything that can be checked without a message.
 *
 * The language is CEL (https://cel.dev) as implemented by `@marcbachmann/cel-js`, with these
 * changes: JSON numbers mix with integer literals in arithmetic (giving a double); `matches()`
 * and `cel.bind()` are not available; the property names `__proto__`, `constructor` and
 * `prototype` are refused in any form.
 *
 * @param source - the expression, e.g. `data.size > 100` or `data.first + " " + data.last`
 * @throws FlowDefinitionError naming the expression, where it is configured and the offset of
 *   the problem: a syntax or type error, a refused property name or function, an unknown name,
 *   more than 10,000 characters, nesting deeper than 100, or a condition that cannot give a boolean
 * @example
 * ```ts
 * const total = compileExpression("data.price * data.quantity", { where: "routine 'bill' config mapping.total" });
 * total.evaluate({ data: { price: 2.5, quantity: 4 }, config: {} }); // 10
 * ```
 */
export function compileExpression(source: string, options: CompileOptions = {}): Expression {
  const kind = options.kind ?? "value";
  const at = options.where === undefined ? "" : ` in ${options.where}`;
  if (typeof source !== "string") {
    throw new FlowDefinitionError(`Expected an expression string${at}, got ${showValue(source)} (${typeof source})`);
  }
  const invalid = (offset: number, message: string, cause?: unknown): FlowDefinitionError =>
    new FlowDefinitionError(`Invalid expression ${shown(source)}${at} at ${position(source, offset)}: ${message}`, { cause });
  const names = checkNames(options.names);

  const scanned = scanSource(source, EXPRESSION_LIMITS.maxLength, EXPRESSION_LIMITS.maxNesting);
  if (scanned !== undefined) throw invalid(scanned.offset, scanned.message);

  let parsed: ParseResult;
  try {
    parsed = environmentFor(names).parse(source);
  } catch (error) {
    // A RangeError is a stack overflow that the scan above should have prevented.
    const message = error instanceof RangeError ? "it nests too deeply to parse" : summary(error);
    throw invalid(offsetOf(error) ?? 0, message, error);
  }
  const tree = checkTree(parsed.ast, { source, names, builtIns: builtInNames(), maxTreeDepth: EXPRESSION_LIMITS.maxTreeDepth });
  if ("offset" in tree) throw invalid(tree.offset, tree.message);
  const checked = parsed.check();
  if (!checked.valid) throw invalid(offsetOf(checked.error) ?? 0, summary(checked.error), checked.error);
  const type = checked.type ?? "dyn";
  if (kind === "condition" && type !== "bool" && type !== "dyn") {
    throw invalid(0, `a condition must give a boolean, and this gives ${type}`);
  }
  if (kind === "value" && NON_JSON_TYPES.has(type)) throw invalid(0, `it gives ${type}, which is not a JSON value`);
  tree.meter();

  const failed = (reason: string, cause: unknown): RoutiluxError =>
    new RoutiluxError(`Expression ${shown(source)}${at} failed: ${reason}`, { cause });

  return {
    source,
    kind,
    evaluate(scope) {
      const meter = new Meter(EXPRESSION_LIMITS.budget);
      let result: unknown;
      let failure: { error: unknown } | undefined;
      withMeter(meter, () => {
        try {
          result = parsed(contextFor(scope, names));
        } catch (error) {
          failure = { error };
        }
      });
      // A stop is reported even when the expression went on to a result (`error || true`).
      if (meter.stop !== undefined) throw failed(meter.stop.message, meter.stop);
      if (failure !== undefined) {
        const offset = offsetOf(failure.error);
        throw failed(`${summary(failure.error)}${offset === undefined ? "" : ` (at ${position(source, offset)})`}`, failure.error);
      }
      let value: JsonValue;
      try {
        value = toJson(result);
      } catch (error) {
        throw failed(describeError(error).message, error);
      }
      if (kind === "condition" && typeof value !== "boolean") {
        throw failed(`a condition must give a boolean, and this gave ${showValue(value)}`, undefined);
      }
      return value;
    },
  };
}

/**
 * Compiles a condition: an expression that gives true or false, as routers and filters use.
 * Testing a message never throws: a condition that fails on it (a missing field, a type
 * mismatch, the budget spent) or gives anything but a boolean is false.
 * @throws FlowDefinitionError as {@link compileExpression} does
 * @example
 * ```ts
 * const big = compileCondition("data.size > 100", { where: "routine 'route' config routes[0].when" });
 * big.test({ data: { size: 150 } }); // true
 * big.test({ data: {} }); // false: no field 'size'
 * ```
 */
export function compileCondition(source: string, options: Omit<CompileOptions, "kind"> = {}): Condition {
  const expression = compileExpression(source, { ...options, kind: "condition" });
  return {
    source,
    test(scope) {
      try {
        return expression.evaluate(scope) === true;
      } catch {
        return false;
      }
    },
    evaluate(scope) {
      return expression.evaluate(scope) as boolean;
    },
  };
}
