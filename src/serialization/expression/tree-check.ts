/**
 * Checks of a parsed expression that the CEL library does not make, and the hooks that meter
 * its evaluation.
 *
 * This reads the library's parse tree beyond its typed surface: `meta.alternate` (what a macro
 * expands to), `meta.macro` (the `has()` macro), `meta.evaluate` (a node's operation), and the
 * fact that the evaluator runs each node through its `evaluate` property. The version is pinned;
 * the tests of the run-time budget fail if a new version moves these.
 */
import { listChoices } from "../../core/errors.js";
import { isView } from "./json-view.js";
import { charge } from "./meter.js";
import type { SourceProblem } from "./source-scan.js";

/** Property names refused in any form: `a.name`, `a["name"]`, `{"name": …}`. */
const FORBIDDEN_PROPERTIES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** How the library runs a node: `(evaluator, node, context) => value`. */
type Evaluate = (evaluator: unknown, node: unknown, context: unknown) => unknown;

/** A node of the library's parse tree, as far as these checks read it. */
interface TreeNode {
  readonly op: string;
  readonly args: unknown;
  readonly pos: number;
  readonly end?: number;
  readonly meta?: {
    readonly alternate?: TreeNode;
    readonly macro?: { readonly args?: unknown; readonly evaluate?: Evaluate };
    readonly evaluate?: Evaluate;
  };
  evaluate: Evaluate;
}

/** The arguments of a comprehension node (what `all`, `exists`, `map`, … expand to). */
interface Comprehension {
  iterable: TreeNode;
  iterVarName: string;
  init: TreeNode;
  step: TreeNode;
}

function isNode(value: unknown): value is TreeNode {
  if (typeof value !== "object" || value === null) return false;
  const node = value as Partial<Record<keyof TreeNode, unknown>>;
  return typeof node.op === "string" && typeof node.pos === "number" && typeof node.evaluate === "function";
}

function isComprehension(node: TreeNode): node is TreeNode & { args: Comprehension } {
  if (node.op !== "comprehension" || typeof node.args !== "object" || node.args === null) return false;
  const args = node.args as Partial<Comprehension>;
  return isNode(args.iterable) && isNode(args.init) && isNode(args.step) && typeof args.iterVarName === "string";
}

/** The nodes directly below `node`, as the library evaluates them. */
function children(node: TreeNode): TreeNode[] {
  if (node.op === "value") return [];
  if (node.meta?.alternate !== undefined) return [node.meta.alternate];
  const macroArgs = node.meta?.macro?.args;
  const found: TreeNode[] = [];
  const collect = (value: unknown, depth: number): void => {
    if (isNode(value)) found.push(value);
    else if (Array.isArray(value) && depth < 2) for (const item of value) collect(item, depth + 1);
  };
  if (macroArgs !== undefined) collect(macroArgs, 0);
  else if (isComprehension(node)) found.push(node.args.iterable, node.args.init, node.args.step);
  else collect(node.args, 0);
  return found;
}

/** Names and limits an expression is checked against. @internal */
export interface TreeRules {
  /** Top-level names the expression may use (`data`, `config`, …). */
  readonly names: readonly string[];
  /** The expression's text, to place names in. */
  readonly source: string;
  /** Names the language itself defines and allows (`string`, `int`, … as types). */
  readonly builtIns: ReadonlySet<string>;
  /** The deepest the parse tree may be. */
  readonly maxTreeDepth: number;
}

/** What a checked tree needs at run time: its nodes, to meter. @internal */
export interface CheckedTree {
  /** Makes each node charge the active meter when it runs. Call once, after the type check. */
  meter(): void;
}

/**
 * Operations charged for the size of what they give: `+` and functions (`split`, `join`, …)
 * make it, and a name (`data`, an iteration variable) hands it to an operation that may scan it
 * (`contains`, `in`), as often as the name appears.
 */
const SIZED = new Set(["+", "call", "rcall", "id"]);

/** The size of a value in cost units: a list's length, a string's length / 16; views charge their own reads. */
function sizeOf(value: unknown): number {
  if (typeof value === "string") return value.length >>> 4;
  return Array.isArray(value) && !isView(value) ? value.length : 0;
}

/**
 * Routes `node` through the meter: 1 unit each time it runs, plus the size of what it gives for
 * the operations in {@link SIZED}. The dispatch is the library's own (`alternate`, then
 * `macro`, then the operation), read when the node runs, since type checking may replace it.
 */
function meterNode(node: TreeNode): void {
  const meta = node.meta;
  if (meta === undefined) return;
  const sized = SIZED.has(node.op) && meta.alternate === undefined && meta.macro === undefined;
  node.evaluate = (evaluator, self, context) => {
    charge(1);
    let result: unknown;
    if (meta.alternate !== undefined) result = meta.alternate.evaluate(evaluator, meta.alternate, context);
    else if (meta.macro?.evaluate !== undefined) result = meta.macro.evaluate(evaluator, meta.macro, context);
    else if (meta.evaluate !== undefined) result = meta.evaluate(evaluator, self, context);
    else throw new TypeError(`the parse tree has a node '${node.op}' this version cannot run`);
    if (sized) charge(sizeOf(result));
    return result;
  };
}

/** The function a call node calls, and the offset of its name (after the receiver of a method). */
function called(node: TreeNode, source: string): { name: string; offset: number } | undefined {
  if ((node.op !== "call" && node.op !== "rcall") || !Array.isArray(node.args)) return undefined;
  const name: unknown = node.args[0];
  const receiver: unknown = node.args[1];
  if (typeof name !== "string") return undefined;
  const after = node.op === "rcall" && isNode(receiver) ? receiver.end ?? node.pos : node.pos;
  const offset = source.indexOf(name, after);
  return { name, offset: offset < 0 ? node.pos : offset };
}

function forbidden(name: unknown, at: number): SourceProblem | undefined {
  if (typeof name !== "string" || !FORBIDDEN_PROPERTIES.has(name)) return undefined;
  return { offset: at, message: `property name '${name}' is not allowed` };
}

/** The problem with one node, seen on its own, or undefined. */
function nodeProblem(node: TreeNode, bound: ReadonlySet<string>, rules: TreeRules): SourceProblem | undefined {
  const args = node.args;
  switch (node.op) {
    case ".":
    case ".?":
      return Array.isArray(args) ? forbidden(args[1], node.pos) : undefined;
    case "[]":
    case "[?]": {
      const key: unknown = Array.isArray(args) ? args[1] : undefined;
      return isNode(key) && key.op === "value" ? forbidden(key.args, key.pos) : undefined;
    }
    case "map":
      if (!Array.isArray(args)) return undefined;
      for (const entry of args) {
        const key: unknown = Array.isArray(entry) ? entry[0] : undefined;
        const problem = isNode(key) && key.op === "value" ? forbidden(key.args, key.pos) : undefined;
        if (problem !== undefined) return problem;
      }
      return undefined;
    case "id": {
      if (typeof args !== "string" || bound.has(args) || rules.names.includes(args)) return undefined;
      if (args === "cel") {
        return { offset: node.pos, message: "'cel' (and cel.bind) is not available: a bound value could be reused without limit" };
      }
      if (rules.builtIns.has(args)) return undefined;
      return { offset: node.pos, message: `unknown name '${args}'; the names an expression can use are: ${listChoices(args, rules.names)}` };
    }
    default: {
      const call = called(node, rules.source);
      if (call === undefined) return undefined;
      if (FORBIDDEN_PROPERTIES.has(call.name)) return forbidden(call.name, call.offset);
      if (call.name === "matches") {
        return {
          offset: call.offset,
          message: "matches() is not available: a regular expression can take exponential time on some inputs; " +
            "use contains(), startsWith() or endsWith()",
        };
      }
      return undefined;
    }
  }
}

/**
 * Checks a parsed expression: refused property names and functions, unknown names (each macro's
 * iteration variable is known inside its body), and the depth of the tree.
 * @param root - the tree the library parsed
 * @returns the problem that comes first in the text, or the checked tree
 * @internal
 */
export function checkTree(root: unknown, rules: TreeRules): SourceProblem | CheckedTree {
  if (!isNode(root)) return { offset: 0, message: "the parser gave a tree this version does not know" };
  const nodes: TreeNode[] = [];
  let first: SourceProblem | undefined;
  const stack: Array<{ node: TreeNode; depth: number; bound: ReadonlySet<string> }> = [{ node: root, depth: 1, bound: new Set() }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, depth, bound } = item;
    if (depth > rules.maxTreeDepth) return { offset: node.pos, message: `it nests deeper than ${rules.maxTreeDepth} levels once parsed` };
    const problem = nodeProblem(node, bound, rules);
    if (problem !== undefined && (first === undefined || problem.offset < first.offset)) first = problem;
    nodes.push(node);
    if (node.op === "comprehension") {
      if (!isComprehension(node)) return { offset: node.pos, message: "the parser gave a macro this version does not know" };
      const { iterable, init, step, iterVarName } = node.args;
      // The iteration variable is known in the body only.
      stack.push({ node: iterable, depth: depth + 1, bound }, { node: init, depth: depth + 1, bound });
      stack.push({ node: step, depth: depth + 1, bound: new Set([...bound, iterVarName]) });
      continue;
    }
    for (const child of children(node)) stack.push({ node: child, depth: depth + 1, bound });
  }
  if (first !== undefined) return first;
  return {
    meter() {
      for (const node of nodes) meterNode(node);
    },
  };
}
