import type { StandardSchemaV1 } from "@standard-schema/spec";
import { z } from "zod";
import { RoutiluxError, ValidationError } from "../core/errors.js";
import { formatPath } from "../core/json-value.js";
import { compileJsonSchema } from "../core/json-schema.js";

export { compileJsonSchema };

/** Whether `value` is a Standard Schema (zod, valibot, arktype, ...). @internal */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === "object" && value !== null && typeof (value as Partial<StandardSchemaV1>)["~standard"]?.validate === "function";
}

function pathOf(path: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment> | undefined): string {
  return formatPath((path ?? []).map((p) => (typeof p === "object" ? p.key : p)));
}

function failure(where: string, issues: readonly StandardSchemaV1.Issue[]): ValidationError {
  const first = issues[0];
  const path = pathOf(first?.path);
  const rest = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new ValidationError(`${where} does not fit its schema${path === "" ? "" : ` at '${path}'`}: ${first?.message ?? "invalid"}${rest}`, { path });
}

/**
 * Checks `value` against a Standard Schema and returns the schema's output (its defaults, coercions
 * and transforms applied); throws a {@link ValidationError} naming `where` and the field. With
 * `sync`, a schema that validates asynchronously is refused (the caller cannot wait).
 * @internal
 */
export function checkStandard(schema: StandardSchemaV1, value: unknown, where: string, sync: true): unknown;
export function checkStandard(schema: StandardSchemaV1, value: unknown, where: string, sync?: false): Promise<unknown>;
export function checkStandard(schema: StandardSchemaV1, value: unknown, where: string, sync = false): unknown {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    if (sync) throw new RoutiluxError(`The schema of ${where} validates asynchronously; use the async form of this call (flow.start)`);
    return result.then((r) => {
      if (r.issues !== undefined) throw failure(where, r.issues);
      return r.value;
    });
  }
  if (result.issues !== undefined) {
    if (sync) throw failure(where, result.issues);
    return Promise.reject(failure(where, result.issues));
  }
  return sync ? result.value : Promise.resolve(result.value);
}

/**
 * Checks `value` against a Standard Schema that validates synchronously; a schema that validates
 * asynchronously is skipped (the caller cannot wait). Throws a {@link ValidationError}. @internal
 */
export function checkStandardIfSync(schema: StandardSchemaV1, value: unknown, where: string): void {
  const result = schema["~standard"].validate(value);
  if (!(result instanceof Promise) && result.issues !== undefined) throw failure(where, result.issues);
}

/** Checks `value` against a JSON Schema (an input request's); throws a {@link ValidationError}. @internal */
export function checkJsonSchema(schema: Record<string, unknown>, value: unknown, where: string): void {
  const problem = compileJsonSchema(schema, where)(value);
  if (problem !== undefined) throw failure(where, [{ message: problem.message, path: problem.segments }]);
}

/**
 * A JSON Schema for an input request, for answers checked in another process: a plain JSON Schema
 * object as is, a zod schema converted (what JSON Schema cannot say, a refinement or a transform,
 * is checked only where the zod schema is); undefined for other Standard Schemas. @internal
 */
export function toJsonSchema(schema: object): Record<string, unknown> | undefined {
  if (schema instanceof z.ZodType) {
    try {
      return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
    } catch {
      return undefined;
    }
  }
  if (isStandardSchema(schema)) return undefined;
  return schema as Record<string, unknown>;
}
