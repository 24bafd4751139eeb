/**
 * The CEL environment expressions are parsed and checked in: the declared top-level names, and
 * arithmetic between JSON numbers and integer literals.
 */
import { Environment } from "@marcbachmann/cel-js";

/**
 * JSON has one kind of number, which CEL sees as a `double`, while a literal such as `1` is an
 * `int`; CEL has no arithmetic between the two, so `data.count + 1` would fail. These overloads
 * give it, with a `double` result. `%` is given for doubles too (`data.n % 2 == 0`), as in
 * JavaScript. int with int keeps CEL's integer arithmetic (`7 / 2 == 3`).
 */
function addMixedArithmetic(env: Environment): void {
  const ops: Record<string, (a: number, b: number) => number> = {
    "+": (a, b) => a + b,
    "-": (a, b) => a - b,
    "*": (a, b) => a * b,
    "/": (a, b) => a / b,
    "%": (a, b) => a % b,
  };
  for (const [op, apply] of Object.entries(ops)) {
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => apply(a, Number(b)));
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => apply(Number(a), b));
  }
  env.registerOperator("double % double: double", (a: number, b: number) => a % b);
}

let builtIns: ReadonlySet<string> | undefined;

/**
 * Names CEL itself defines: the types (`string`, `int`, `map`, … for `type(x) == string`),
 * `google` (for `google.protobuf.Timestamp`), `optional` and `cel`.
 * @internal
 */
export function builtInNames(): ReadonlySet<string> {
  builtIns ??= new Set(new Environment().getDefinitions().variables.map((variable) => variable.name));
  return builtIns;
}

/** Environments by their set of names: making one is slow, and flows use few sets of names. */
const cache = new Map<string, Environment>();
const MAX_CACHED = 64;

/**
 * The environment for expressions that may use `names` (already checked to be identifiers).
 * @internal
 */
export function environmentFor(names: readonly string[]): Environment {
  const key = [...names].sort().join(",");
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  // Mixed-type list and map literals are allowed: mappings build JSON, which mixes types.
  const env = new Environment({ homogeneousAggregateLiterals: false });
  for (const name of names) env.registerVariable(name, "dyn");
  addMixedArithmetic(env);
  if (cache.size < MAX_CACHED) cache.set(key, env);
  return env;
}
