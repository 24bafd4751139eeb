import type { HandlerContext } from "../core/context.js";
import { FlowDefinitionError, ValidationError, describeError } from "../core/errors.js";
import { compileJsonSchema, type JsonSchemaProblem } from "../core/json-schema.js";
import { findNonJson } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, loadState, saveState } from "./builtin-routine.js";
import { ConfigReader, isPlainObject } from "./config.js";

const KEYS = ["prompt", "schema"] as const;
const STATE = "humanInput";
const ANSWER_SLOT = "answer";

interface HumanInputSettings {
  prompt: string | undefined;
  schema: Record<string, unknown> | undefined;
  check: ((value: unknown) => JsonSchemaProblem | undefined) | undefined;
}

/** The routine state of a HumanInput in one job. */
interface HumanInputState {
  /** The message that asked, while an answer is awaited. */
  request?: Payload;
  /** Why the last answer was refused, if it was. */
  lastError?: string;
}

function parse(config: Readonly<Record<string, unknown>>): HumanInputSettings {
  const read = new ConfigReader("HumanInput", config, KEYS);
  const prompt = read.has("prompt") ? read.string("prompt", "", { allowEmpty: true }) : undefined;
  const schema = read.optionalObject("schema");
  let check: HumanInputSettings["check"];
  if (schema !== undefined) {
    try {
      check = compileJsonSchema(schema, "HumanInput");
    } catch (error) {
      const why = error instanceof Error && error.cause !== undefined ? error.cause : error;
      throw new FlowDefinitionError(`The \`schema\` of HumanInput is not a JSON Schema it can check answers with: ${describeError(why).message}`, { cause: error });
    }
  }
  return { prompt, schema, check };
}

/**
 * Asks a person (or any outside caller) for input, and waits without holding a worker: the job
 * pauses until `flow.answer(job, routineId, "answer", data)`.
 *
 * - Slots: `input` (and `trigger`): ask; `answer`: the answer (what `flow.answer` fills).
 * - Event: `answered { answer, request }`: `answer` the answer's data, `request` the message
 *   that asked (null when the answer came without a question).
 * - Config: `prompt` (shown in `job.waitingFor`; a message with a string `prompt` field shows that
 *   instead), `schema` (a JSON Schema that answers must fit: `flow.answer` refuses one that
 *   does not with a ValidationError, and the job keeps waiting).
 *
 * A schema that cannot be used is refused when configured. An answer that reaches the `answer`
 * slot without the engine's check (one given before the question, or sent by a connection) is
 * checked here: when a question is open, a wrong answer is noted in the routine state
 * (`humanInput.lastError`) and the question asked again; otherwise it fails the activation with a
 * ValidationError. One question is open at a time per job: a message that arrives while one is
 * open (queued with it before the job paused) asks again once it is answered. Per job: the open
 * question is in the job's routine state under
 * `humanInput`, and the wait in the job (`waitingFor`), so it survives serialization, a store and
 * another process.
 *
 * @example
 * ```ts
 * const approve = new HumanInput();
 * approve.setConfig({
 *   prompt: "Publish this draft?",
 *   schema: { type: "object", properties: { approved: { type: "boolean" } }, required: ["approved"] },
 * });
 * // ... the job pauses with job.waitingFor = [{ routineId: "approve", slotName: "answer", prompt, schema }]
 * await flow.answer(job, "approve", "answer", { approved: true });
 * ```
 */
export class HumanInput extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("input", this.ask);
    this.defineSlot("trigger", this.ask);
    this.defineSlot(ANSWER_SLOT, this.receive);
    this.defineEvent("answered", ["answer", "request"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  #wait(ctx: HandlerContext, request: Payload): void {
    const { schema } = this.#settings;
    const prompt = typeof request.prompt === "string" ? request.prompt : this.#settings.prompt;
    ctx.waitForInput({ slot: ANSWER_SLOT, ...(prompt === undefined ? {} : { prompt }), ...(schema === undefined ? {} : { schema }) });
  }

  /** Asks: the job pauses for the answer when this handler succeeds. */
  protected ask(message: Payload, ctx: HandlerContext): void {
    this.#wait(ctx, message);
    saveState(ctx, STATE, { request: message } satisfies HumanInputState);
  }

  /** The answer: checked, then emitted as `answered`. */
  protected receive(answer: Payload, ctx: HandlerContext): void {
    const state = loadState<HumanInputState>(ctx, STATE) ?? {};
    const problem = this.#problem(answer);
    if (problem !== undefined) {
      if (state.request === undefined) {
        throw new ValidationError(`The answer to '${ctx.routineId}.${ANSWER_SLOT}' does not fit its schema${problem.path === "" ? "" : ` at '${problem.path}'`}: ${problem.message}`, { path: problem.path });
      }
      this.#wait(ctx, state.request);
      saveState(ctx, STATE, { request: state.request, lastError: problem.message } satisfies HumanInputState);
      return;
    }
    this.emit("answered", { answer, request: state.request ?? null });
    saveState(ctx, STATE, {} satisfies HumanInputState);
  }

  #problem(answer: Payload): { message: string; path: string } | undefined {
    if (!isPlainObject(answer) || findNonJson(answer) !== undefined) return { message: "an answer is a plain JSON object", path: "" };
    const check = this.#settings.check;
    if (check === undefined) return undefined;
    const problem = check(answer);
    return problem === undefined ? undefined : { message: problem.message, path: problem.path };
  }
}
