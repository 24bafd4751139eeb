/**
 * The safe expression language of built-in routines: conditions (`data.size > 100`) and
 * mappings (`data.first + " " + data.last`), written as strings in flow files and compiled once
 * when a routine is configured.
 *
 * The language is CEL, the Common Expression Language, as implemented by
 * `@marcbachmann/cel-js` (pinned at 8.0.0). It was chosen over the alternatives because:
 * - it has no dependencies, ships ESM with types, is actively released, and runs on Node 20
 *   (its `engines` asks for >=20.19);
 * - it interprets a parse tree and never generates code (no `eval`, `Function` or `vm`),
 *   where filtrex compiles every expression with `new Function`;
 * - CEL has no loops and no assignment, and this implementation reads fields of plain objects
 *   with `Object.hasOwn`, so `data.constructor`, `data["__proto__"]` and `"a".constructor` find
 *   nothing, and globals such as `process` are unknown names;
 * - it type-checks an expression without a message, so unknown names and type errors are found
 *   when the routine is configured, and its errors carry offsets;
 * - jexl reads properties with a plain index (inherited ones included) and has had no release
 *   in years; cel-js (ChromeGG) is slower and pulls in chevrotain and ramda; @bufbuild/cel is
 *   still 0.x and needs @bufbuild/protobuf.
 *
 * What this module adds (the library has no cost limit and takes any text):
 * - before parsing: at most 10,000 characters and 100 levels of nesting, counted by a loop;
 * - after parsing: the property names `__proto__`, `constructor` and `prototype` refused in any
 *   form, unknown top-level names refused, `matches()` (JavaScript regular expressions can
 *   backtrack exponentially) and `cel.bind()` (a bound value escapes the budget) refused, and a
 *   parse tree at most 250 levels deep;
 * - at run time: inputs seen through read-only views (own data properties, no getter ever
 *   runs, non-JSON values refused), a budget of 1,000,000 cost units per evaluation (each macro
 *   iteration costs 1 plus the size of its body; each input read costs 1, plus 1 per 64
 *   characters of a string), results copied out as plain JSON (no BigInt), and every failure
 *   turned into a RoutiluxError.
 */
export { EXPRESSION_LIMITS, compileCondition, compileExpression } from "./compile.js";
export type { CompileOptions, Condition, Expression, ExpressionKind, ExpressionScope } from "./compile.js";
export type { JsonValue } from "./json-view.js";
