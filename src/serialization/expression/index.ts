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
 * - jexl reads inherited properties (`data["constructor"]` gives the Object function); cel-js
 *   (ChromeGG) pulls in chevrotain and ramda; @bufbuild/cel is still 0.x and needs
 *   @bufbuild/protobuf.
 *
 * What this module adds (the library has no cost limit and takes any text):
 * - before parsing: at most 10,000 characters and 100 levels of nesting, counted by a loop;
 * - after parsing: the property names `__proto__`, `constructor` and `prototype` refused in any
 *   form, unknown top-level names refused, `matches()` (JavaScript regular expressions can
 *   backtrack exponentially) and `cel.bind()` (a bound value escapes the budget) refused, and a
 *   parse tree at most 250 levels deep;
 * - at run time: inputs seen through read-only views (own data properties, no getter ever
 *   runs, non-JSON values refused), a budget of 1,000,000 cost units per evaluation, results
 *   copied out as plain JSON (no BigInt), and every failure turned into a RoutiluxError.
 *
 * The budget: each node of the parse tree costs 1 each time it runs (a macro's body runs once
 * per item), `+` and function calls also cost the length of the list they make (a string's
 * length / 16), and each value read from an input costs 1 (a string also its length / 16). So
 * nested macros over big lists, long concatenations or `in` scans of a big list stop with an
 * error instead of running for minutes; on the development machine a spent budget is about
 * 0.1 to 0.3 seconds of work. A simple macro (`data.items.exists(i, i.sku == "a")`) costs 5 to
 * 10 units per item, so it fits for lists of about 100,000 items.
 */
export { EXPRESSION_LIMITS, compileCondition, compileExpression } from "./compile.js";
export type { CompileOptions, Condition, Expression, ExpressionKind, ExpressionScope } from "./compile.js";
export type { JsonValue } from "./json-view.js";
