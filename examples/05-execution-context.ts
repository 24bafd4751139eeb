/**
 * Guide: "Using get_execution_context() for Convenient Access".
 *
 * Inside a handler, `this.getExecutionContext()` returns `{ flow, jobState, routineId }` of the
 * job that is running it (the same object is also the handler's second argument). It is found
 * through Node's AsyncLocalStorage, so it is right after any `await`, and two jobs running the
 * same routine object at once each see their own. Outside a job it returns `undefined`.
 *
 * Run: npx tsx examples/05-execution-context.ts
 */
import { CallbackOutputHandler, Flow, JobState, Routine } from "../src/index.js";

class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.send);
    this.defineEvent("output", ["data"]);
  }

  send(data: Record<string, unknown>): void {
    this.emit("output", { data: data.item });
  }
}

class Processor extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.process);
  }

  async process(data: Record<string, unknown>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5)); // some asynchronous work
    // The execution context (flow, jobState, routineId), still right after the await.
    const ctx = this.getExecutionContext();
    if (ctx !== undefined) {
      // Update this routine's state in this job
      ctx.jobState.updateRoutineState(ctx.routineId, { processed: true });
      // Store business data
      ctx.jobState.updateSharedData("last_item", data.data);
      // Send output
      this.sendOutput("user_data", { message: "Processed", value: data.data });
    }
  }
}

const flow = new Flow({ flowId: "context_demo", executionStrategy: "concurrent" });
const processor = new Processor();
flow.addRoutine(new Source(), "source");
flow.addRoutine(processor, "processor");
flow.connect("source", "output", "processor", "input");

const print = new CallbackOutputHandler((routineId, outputType, data) => {
  console.log(`output from ${routineId}: ${outputType} ${JSON.stringify(data)}`);
});

// Two jobs run the same Processor object at the same time; each sees its own context.
const jobA = flow.execute("source", { entryParams: { item: "apple" }, outputHandler: print });
const jobB = flow.execute("source", { entryParams: { item: "banana" }, outputHandler: print });
await Promise.all([JobState.waitForCompletion(flow, jobA), JobState.waitForCompletion(flow, jobB)]);

console.log(`Job A: last_item=${String(jobA.getSharedData("last_item"))}, processor state=${JSON.stringify(jobA.getRoutineState("processor"))}`);
console.log(`Job B: last_item=${String(jobB.getSharedData("last_item"))}, processor state=${JSON.stringify(jobB.getRoutineState("processor"))}`);

// Outside a job there is no context, and emit/sendOutput say so.
console.log(`Context outside a job: ${processor.getExecutionContext() === undefined ? "undefined" : "defined"}`);
try {
  processor.sendOutput("user_data", { message: "too early" });
} catch (error) {
  console.log(`sendOutput outside a job: ${(error as Error).name}: ${(error as Error).message}`);
}
