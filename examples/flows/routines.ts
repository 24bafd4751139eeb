/**
 * The small routine classes the example flow files use besides the built-ins: `Collect` (a sink
 * that keeps what it receives in the job's shared data) and `FakeModel` (a stand-in for a
 * language model that answers in Markdown with a fenced JSON block, deterministically and
 * offline). Load a flow file with `exampleRegistry()`:
 *
 * ```ts
 * const flow = await loadFlowFile("examples/flows/agent.yaml", exampleRegistry());
 * ```
 */
import { Routine, RoutineRegistry, type HandlerContext, type Payload } from "../../src/index.js";

/** Appends every message it receives to the shared-data list `config.key` (default: its routine id), and sends it as output. */
export class Collect extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.collect);
  }

  collect(message: Payload, ctx: HandlerContext): void {
    const key = this.getConfig<string>("key", ctx.routineId);
    ctx.shared.update<Payload[]>(key, (list = []) => [...list, message]);
    ctx.sendOutput(key, message);
  }
}

/**
 * Answers `{ topic }` as a model with the persona `config.persona` would: a sentence, then a
 * ```json block with `{ persona, topic, points, verdict }`. Emits `answered { data: <the text> }`.
 */
export class FakeModel extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.answer);
    this.defineEvent("answered", ["data"]);
  }

  async answer(message: Payload, ctx: HandlerContext): Promise<void> {
    // A real model call takes a while; this one yields once, and stops if the job is cancelled.
    await new Promise((resolve) => setImmediate(resolve));
    if (ctx.signal.aborted) return;
    const persona = this.getConfig<string>("persona", "assistant");
    const topic = typeof message.topic === "string" ? message.topic : "anything";
    const points = persona === "critic"
      ? [`the claims about ${topic} need sources`, "the summary is too long"]
      : [`${topic} is used widely`, `${topic} has a small core`, `${topic} is easy to test`];
    const reply = { persona, topic, points, verdict: persona === "critic" ? "revise" : "ok" };
    const text = `As the ${persona}, here is what I found about ${topic}.\n\n\`\`\`json\n${JSON.stringify(reply, null, 2)}\n\`\`\`\n`;
    this.emit("answered", { data: text });
  }
}

/** A registry with the example routines; the built-ins come from `defaultRegistry`. */
export function exampleRegistry(): RoutineRegistry {
  const registry = new RoutineRegistry();
  registry.register("Collect", Collect);
  registry.register("FakeModel", FakeModel);
  return registry;
}
