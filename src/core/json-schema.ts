// JSON Schema checks for answers (input requests, HumanInput): compiled once with Ajv, the
// standard JSON Schema validator, and cached per schema object.
import type { ErrorObject, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import { RoutiluxError, describeError } from "./errors.js";
import { formatPath } from "./json-value.js";

const ajv = new Ajv2020({ allErrors: false, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

/** One problem an answer has against its JSON Schema: where, and what. */
export interface JsonSchemaProblem {
  /** The path of the field at fault, as keys and indexes (empty for the whole value). */
  readonly segments: ReadonlyArray<string | number>;
  /** The same as a dotted path ("" for the whole value). */
  readonly path: string;
  readonly message: string;
}

/**
 * Compiles a JSON Schema (cached per object); a RoutiluxError naming `where` when it cannot be
 * used (an unknown type, a malformed keyword).
 */
export function compileJsonSchema(schema: Record<string, unknown>, where: string): (value: unknown) => JsonSchemaProblem | undefined {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    try {
      // Checked as draft 2020-12 (what zod writes); the draft named by `$schema` is not looked up.
      const { $schema: _draft, ...rest } = schema;
      validate = ajv.compile(rest);
    } catch (error) {
      throw new RoutiluxError(`The JSON Schema of ${where} cannot be used: ${describeError(error).message}`, { cause: error });
    }
    compiled.set(schema, validate);
  }
  const check = validate;
  return (value) => (check(value) ? undefined : problemOf(check.errors?.[0]));
}

function problemOf(error: ErrorObject | undefined): JsonSchemaProblem {
  if (error === undefined) return { segments: [], path: "", message: "does not fit" };
  const parts = error.instancePath.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
  const missing = (error.params as { missingProperty?: unknown }).missingProperty;
  if (error.keyword === "required" && typeof missing === "string") parts.push(missing);
  const segments = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return { segments, path: formatPath(segments), message: error.message ?? "does not fit" };
}
