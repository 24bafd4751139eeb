import { z } from "zod";
import { JOB_STATUSES, type JobFilter, type JobStatus } from "../index.js";
import { HttpError } from "./errors.js";

/** The body of `POST /api/flows/:flowId/jobs`. */
export const StartJobBody = z.strictObject({
  entryRoutineId: z.string().min(1).optional(),
  entryParams: z.record(z.string(), z.unknown()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** The body of `POST /api/jobs/:jobId/answer`. */
export const AnswerBody = z.strictObject({
  routineId: z.string().min(1),
  slotName: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
});

/** The (optional) body of `POST /api/jobs/:jobId/pause` and `.../cancel`. */
export const ReasonBody = z.strictObject({ reason: z.string().max(1000).optional() });

/** The (optional) body of `POST /api/jobs/:jobId/resume`. */
export const EmptyBody = z.strictObject({});

/**
 * Reads a request body as JSON, at most `maxBytes` of it: 413 past the limit, 415 for a body that
 * is not declared JSON, 400 for one that does not parse or does not fit `schema` (naming the field).
 * An absent body reads as `{}`.
 */
export async function readJsonBody<T>(request: Request, schema: z.ZodType<T>, maxBytes: number): Promise<T> {
  const text = await readText(request, maxBytes);
  let value: unknown = {};
  if (text.trim() !== "") {
    const type = request.headers.get("content-type") ?? "";
    if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      throw new HttpError(415, "unsupported_media_type", `Expected a JSON body (Content-Type: application/json), got ${type === "" ? "no Content-Type" : `'${type}'`}`);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, "invalid_json", `The request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined ? "" : issue.path.map(String).join(".");
    const what = issue?.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}` : issue?.message ?? "invalid";
    throw new HttpError(400, "invalid_body", `Invalid request body${path === "" ? "" : ` at '${path}'`}: ${what}`, path === "" ? {} : { path });
  }
  return parsed.data;
}

async function readText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const body = request.body;
  if (body === null) return "";
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new HttpError(400, "invalid_json", "The request body is not UTF-8 text");
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "body_too_large", `The request body is larger than this server accepts (${maxBytes} bytes)`);
}

/** The query of `GET /api/jobs` as a store filter: `flowId`, `status` (comma-separated), `cursor`, `limit` (1 to 1000, default 50). */
export function jobFilterOf(query: (name: string) => string | undefined): JobFilter {
  const filter: JobFilter = {};
  const flowId = query("flowId");
  if (flowId !== undefined && flowId !== "") filter.flowId = flowId;
  const status = query("status");
  if (status !== undefined && status !== "") {
    const statuses = status.split(",").map((s) => s.trim());
    for (const s of statuses) {
      if (!(JOB_STATUSES as readonly string[]).includes(s)) {
        throw new HttpError(400, "invalid_query", `Unknown job status '${s}' in \`status\`; the statuses are: ${JOB_STATUSES.join(", ")}`, { path: "status" });
      }
    }
    filter.status = statuses as JobStatus[];
  }
  const cursor = query("cursor");
  if (cursor !== undefined && cursor !== "") filter.cursor = cursor;
  const limit = query("limit");
  if (limit === undefined || limit === "") {
    filter.limit = 50;
  } else {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > 1000) {
      throw new HttpError(400, "invalid_query", `Expected \`limit\` to be an integer from 1 to 1000, got '${limit}'`, { path: "limit" });
    }
    filter.limit = n;
  }
  return filter;
}
