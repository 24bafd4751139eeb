/**
 * Guide: "Deferred Events" (human in the loop).
 *
 * A handler stores an event with `emitDeferredEvent()` and pauses its own job with
 * `await ctx.flow.pause(ctx.jobState, { reason })` (called from inside a handler, pause does not
 * wait for that handler, so there is no deadlock). The job rests "paused"; the caller reads the
 * question, supplies the answer and resumes: the deferred events are emitted then, and cleared.
 *
 * The second half does the same with the human-input API, the shorter way: the handler calls
 * `ctx.waitForInput({ slot, prompt })`, the job pauses once it returns and lists what it waits for
 * in `waitingFor`, and `flow.answer(job, routineId, slot, data)` checks the answer against the
 * slot's schema, delivers it and resumes the job (here, or in another process through a store).
 *
 * Run: npx tsx examples/09-deferred-events.ts
 */
import { z } from "zod";
import { Flow, JobState, QueueOutputHandler, Routine, type ExecutionContext, type HandlerContext } from "../src/index.js";

class UserInteraction extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.process);
    this.defineEvent("user_input_required", ["question"]);
  }

  async process(_data: Record<string, unknown>, ctx: ExecutionContext): Promise<void> {
    // Store an event to emit when the job is resumed
    this.emitDeferredEvent("user_input_required", { question: "What is your name?" });
    // Pause this job (and only this job) until the answer is there
    await ctx.flow.pause(ctx.jobState, { reason: "Waiting for user input" });
  }
}

class Greeter extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.greet);
  }

  greet(data: Record<string, unknown>, ctx: ExecutionContext): void {
    const answer = ctx.jobState.getSharedData<string>("answer", "stranger");
    this.sendOutput("reply", { question: data.question, text: `Hello, ${answer}!` });
  }
}

const flow = new Flow({ flowId: "human_in_the_loop" });
flow.addRoutine(new UserInteraction(), "ask");
flow.addRoutine(new Greeter(), "greeter");
flow.connect("ask", "user_input_required", "greeter", "input");

const outputs = new QueueOutputHandler();
const jobState = flow.execute("ask", { outputHandler: outputs });

// Resolves when the job rests; here it rests paused, waiting for the person.
await JobState.waitForCompletion(flow, jobState);
console.log(`Status: ${jobState.status}`);
console.log(`Pause reason: ${jobState.pausePoints.at(-1)?.reason}`);
for (const event of jobState.deferredEvents) {
  console.log(`Deferred event: ${event.routineId}.${event.eventName} ${JSON.stringify(event.data)}`);
}

// Later: the person answers; resume emits the deferred events and the job runs on.
const question = jobState.deferredEvents[0]?.data.question;
console.log(`Asking the user: ${String(question)} -> Ada`);
jobState.updateSharedData("answer", "Ada");
flow.resume(jobState);
await JobState.waitForCompletion(flow, jobState);

console.log(`Status: ${jobState.status}`);
console.log(`Deferred events left: ${jobState.deferredEvents.length}`);
for (const output of outputs.items) console.log(`Output: ${output.outputType} ${JSON.stringify(output.data)}`);
console.log(`History: ${jobState.executionHistory.map((r) => `${r.routineId} -> ${r.eventName}`).join(", ")}`);

// The same with the human-input API.
class AskName extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.ask);
    this.defineSlot("name", this.greet, { schema: z.object({ name: z.string().min(1) }) });
  }

  ask(_data: Record<string, unknown>, ctx: HandlerContext): void {
    ctx.waitForInput({ slot: "name", prompt: "What is your name?" });
  }

  greet(data: Record<string, unknown>): void {
    this.sendOutput("reply", { text: `Hello, ${String(data.name)}!` });
  }
}

const inputFlow = new Flow({ flowId: "human_input" });
inputFlow.addRoutine(new AskName(), "ask");
const replies = new QueueOutputHandler();
const job = inputFlow.execute("ask", { outputHandler: replies });
const waiting = await job.result();
if (waiting.status === "paused") {
  for (const input of waiting.waitingFor ?? []) console.log(`Waiting for ${input.routineId}.${input.slotName}: ${input.prompt}`);
}
await inputFlow.answer(job, "ask", "name", { name: "" }).catch((error: unknown) => console.log(`Refused: ${(error as Error).name}`));
await inputFlow.answer(job, "ask", "name", { name: "Ada" });
const done = await job.result();
console.log(`Answered: ${done.status}, ${replies.items.map((output) => JSON.stringify(output.data)).join(", ")}`);
