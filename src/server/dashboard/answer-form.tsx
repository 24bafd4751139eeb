import { useState } from "preact/hooks";
import { api, ApiError } from "./api.js";
import type { JsonSchema, WaitingInput } from "./types.js";

type Field = { name: string; schema: JsonSchema; required: boolean };

/** The fields a form can show one by one: the properties of an object schema; none for other schemas. */
function fieldsOf(schema: JsonSchema | undefined): Field[] | undefined {
  if (schema === undefined || schema.properties === undefined) return undefined;
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, s]) => ({ name, schema: s, required: required.has(name) }));
}

function typeOf(schema: JsonSchema): string {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type;
  if (schema.enum !== undefined) return "enum";
  return t ?? "json";
}

/** Reads a form field's value as its schema's type; undefined for an empty optional field. */
function readField(field: Field, raw: string | boolean | undefined): unknown {
  const type = typeOf(field.schema);
  if (type === "boolean") return raw === true;
  if (raw === undefined || raw === "") return undefined;
  const text = String(raw);
  if (type === "number" || type === "integer") return Number(text);
  if (type === "enum") return field.schema.enum?.find((v) => JSON.stringify(v) === text) ?? text;
  if (type === "string") return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, "invalid_json", `Field '${field.name}' is not JSON`, field.name);
  }
}

/**
 * A form to answer an input a job waits for, built from the slot's schema: a checkbox for a
 * boolean, a number box, a text box, a list for an enum, a JSON box for anything else; or one JSON
 * box for the whole answer when the schema is not an object with properties.
 */
export function AnswerForm({ jobId, wait, schema, onAnswered }: {
  jobId: string;
  wait: WaitingInput;
  schema: JsonSchema | undefined;
  onAnswered: () => void;
}) {
  const fields = fieldsOf(schema);
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [raw, setRaw] = useState("{}");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `${wait.routineId}.${wait.slotName}`;

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      let data: Record<string, unknown>;
      if (fields === undefined) {
        data = JSON.parse(raw) as Record<string, unknown>;
      } else {
        data = {};
        for (const field of fields) {
          const value = readField(field, values[field.name]);
          if (value !== undefined) data[field.name] = value;
        }
      }
      await api(`/api/jobs/${jobId}/answer`, { method: "POST", body: { routineId: wait.routineId, slotName: wait.slotName, data } });
      onAnswered();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="answer" data-testid={`answer-${id}`} onSubmit={(e) => void submit(e)}>
      <div class="answer-head">
        <strong>{id}</strong>
        {wait.prompt !== undefined && <span class="prompt">{wait.prompt}</span>}
      </div>
      {fields === undefined ? (
        <label class="field">
          <span>answer (JSON)</span>
          <textarea name="answer" rows={4} value={raw} onInput={(e) => setRaw((e.target as HTMLTextAreaElement).value)} />
        </label>
      ) : fields.map((field) => {
        const type = typeOf(field.schema);
        const label = `${field.name}${field.required ? " *" : ""}`;
        const set = (value: string | boolean): void => setValues({ ...values, [field.name]: value });
        if (type === "boolean") {
          return (
            <label class="field check" key={field.name}>
              <input type="checkbox" name={field.name} checked={values[field.name] === true} onChange={(e) => set((e.target as HTMLInputElement).checked)} />
              <span>{label}</span>
            </label>
          );
        }
        if (type === "enum") {
          return (
            <label class="field" key={field.name}>
              <span>{label}</span>
              <select name={field.name} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
                <option value="">–</option>
                {(field.schema.enum ?? []).map((v) => <option value={JSON.stringify(v)}>{String(v)}</option>)}
              </select>
            </label>
          );
        }
        return (
          <label class="field" key={field.name}>
            <span>{label}{type === "json" ? " (JSON)" : ""}</span>
            {type === "number" || type === "integer" ? (
              <input name={field.name} type="number" step={type === "integer" ? 1 : "any"} value={String(values[field.name] ?? "")}
                onInput={(e) => set((e.target as HTMLInputElement).value)} />
            ) : (
              <input name={field.name} type="text" placeholder={field.schema.description ?? ""} value={String(values[field.name] ?? "")}
                onInput={(e) => set((e.target as HTMLInputElement).value)} />
            )}
          </label>
        );
      })}
      {error !== null && <div class="error" role="alert" data-testid="answer-error">{error}</div>}
      <button type="submit" class="primary" disabled={busy}>Answer</button>
    </form>
  );
}
