import type { z } from "zod";
import { SerializationError, showValue } from "../core/errors.js";
import { findNonJson, formatPath } from "../core/json-value.js";

const MAX_SHOWN = 80;

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value };
}

function shown(value: unknown): string {
  const text = showValue(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}

/**
 * Turns the first issue of a failed schema check into a {@link SerializationError} whose `path`
 * and message name the bad field, what was expected and what was received.
 * @param kind - the document's name, for the message ("JobStateDocument", "FlowDocument")
 * @param input - the document as given
 * @internal
 */
export function documentError(kind: string, input: unknown, error: z.ZodError): SerializationError {
  const issue = error.issues[0];
  if (issue === undefined) return new SerializationError(`Invalid ${kind}`, { cause: error });
  let path: PropertyKey[] = [...issue.path];
  let detail: string = issue.message;
  if (issue.code === "unrecognized_keys") {
    // Name the unknown field itself, not the object that holds it.
    const key = issue.keys[0] ?? "";
    path = [...path, key];
    detail = `unknown field '${key}'; a ${kind} has no such field (remove it, or check the spelling)`;
  } else {
    const at = valueAt(input, path);
    const nonJson = at.found ? findNonJson(at.value, true) : undefined;
    if (nonJson !== undefined) {
      // A value that is not JSON: point at it, however deep, rather than at the field holding it.
      path = [...path, ...nonJson.path];
      detail = `expected plain JSON, got ${nonJson.what}`;
    } else if (!at.found) {
      detail = `${issue.message} (the field is missing)`;
    } else if (issue.code !== "custom") {
      detail = `${issue.message}; got ${shown(at.value)}`;
    }
  }
  const text = formatPath(path);
  return new SerializationError(`Invalid ${kind} at '${text === "" ? "(document)" : text}': ${detail}`, { path: text, cause: error });
}

/**
 * Rejects a document of a newer version than this release reads, before the schema check, so
 * that the message says to upgrade rather than naming a field that changed.
 * @internal
 */
export function checkVersion(kind: string, input: unknown, supported: number): void {
  if (typeof input !== "object" || input === null || !("version" in input)) return;
  const version = input.version;
  if (typeof version === "number" && version > supported) {
    throw new SerializationError(`Invalid ${kind} at 'version': version ${version} is newer than this routilux reads (${supported}); upgrade routilux`, {
      path: "version",
    });
  }
}

/**
 * Rejects a document that passed its schema but is still not plain JSON: a cycle (the schema
 * library walks it without complaint) or a shared object the schema let through.
 * @internal
 */
export function checkPlainJson(kind: string, input: unknown): void {
  const found = findNonJson(input, true);
  if (found === undefined) return;
  const text = formatPath(found.path);
  throw new SerializationError(`Invalid ${kind} at '${text === "" ? "(document)" : text}': expected plain JSON, got ${found.what}`, { path: text });
}
