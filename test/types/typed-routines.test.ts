// Typed routines: what compiles, what does not (the `@ts-expect-error` lines: `npm run typecheck`
// fails if one of them compiles), and that typed routines run like untyped ones.
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  Flow, FlowDefinitionError, Routine, RoutineRegistry, defineRoutine, type RoutineDefinition,
  type Event, type Slot, type ExecutionContext, type HandlerContext, type Payload,
  type SlotData, type SlotName, type EventName, type RoutineSpec,
} from "../../src/index.js";

interface Question {
  question: string;
  lang?: string;
}

interface AskSpec {
  slots: { trigger: Question; retry: { attempt: number } };
  events: { asked: { question: string; at: number }; skipped: { reason?: string } };
}

class Ask extends Routine<AskSpec> {
  readonly trigger = this.defineSlot("trigger", this.ask);
  readonly asked = this.defineEvent("asked", ["question", "at"]);
  readonly skipped = this.defineEvent("skipped");

  constructor() {
    super();
    this.defineSlot("retry", (data, ctx) => {
      expectTypeOf(data).toEqualTypeOf<{ attempt: number }>();
      ctx.emit("skipped");
    });
  }

  // A method passed as `this.defineSlot("trigger", this.ask)`: `this` is the routine.
  ask(data: Question, ctx: HandlerContext<AskSpec>): void {
    this.emit("asked", { question: data.question, at: ctx.attempt });
  }
}

interface AnswerSpec {
  slots: { input: { question: string } };
  events: { answered: { answer: string } };
}

class Answer extends Routine<AnswerSpec> {
  readonly input = this.defineSlot("input", this.answer);
  readonly answered = this.defineEvent("answered", ["answer"]);

  // Declares only the fields it reads: any data the spec's type fits is accepted.
  answer(data: { question: string }): void {
    this.emit("answered", { answer: `${data.question}? 42` });
  }
}

describe("typed routines", () => {
  it("derive names and payloads from the spec", () => {
    expectTypeOf<SlotName<AskSpec>>().toEqualTypeOf<"trigger" | "retry">();
    expectTypeOf<EventName<AskSpec>>().toEqualTypeOf<"asked" | "skipped">();
    expectTypeOf<SlotData<AskSpec, "trigger">>().toEqualTypeOf<Question>();
    const ask = new Ask();
    expectTypeOf(ask.trigger).toEqualTypeOf<Slot<Question>>();
    expectTypeOf(ask.asked).toEqualTypeOf<Event<{ question: string; at: number }>>();
  });

  it("infer handler parameters from the spec, never from the handler", () => {
    const r = new Routine<AskSpec>();
    r.defineSlot("trigger", (data, ctx) => {
      expectTypeOf(data).toEqualTypeOf<Question>();
      expectTypeOf(ctx).toEqualTypeOf<HandlerContext<AskSpec>>();
      expectTypeOf(ctx.emit<"asked">).parameters.toEqualTypeOf<[eventName: "asked", data: { question: string; at: number }]>();
    });
  });

  it("keep untyped routines as they were: string names, Record<string, unknown> data", () => {
    const r = new Routine();
    r.defineSlot("anything", (data, ctx) => {
      expectTypeOf(data).toEqualTypeOf<Payload>();
      expectTypeOf(data).toEqualTypeOf<Record<string, unknown>>();
      expectTypeOf(ctx).toEqualTypeOf<HandlerContext>();
      ctx.emit("whatever");
      ctx.emit("whatever", { any: 1 });
    });
    const event = r.defineEvent("out", ["a", "b"]);
    expectTypeOf(event).toEqualTypeOf<Event<Record<string, unknown>>>();
    expectTypeOf<SlotName<RoutineSpec & { slots: Record<string, Payload> }>>().toEqualTypeOf<string>();
    // A Part 1 handler: (data, ctx: ExecutionContext).
    r.defineSlot("old", function (this: Routine, data: Record<string, unknown>, ctx: ExecutionContext) {
      void data;
      void ctx;
    });
  });

  it("are Routines: a flow takes them, and plain Routine variables hold them", () => {
    const held: Routine[] = [new Ask(), new Answer(), new Routine<AskSpec>()];
    expect(held).toHaveLength(3);
    const flow = new Flow();
    flow.addRoutine(new Ask(), "ask");
    // A typed context is a HandlerContext: helpers written for untyped handlers take it.
    expectTypeOf<HandlerContext<AskSpec>>().toExtend<HandlerContext>();
    const r = new Routine<AskSpec>();
    r.defineSlot("trigger", (data, ctx: HandlerContext) => void [data, ctx]);
    r.defineSlot("retry", (data: { attempt: number }, ctx: ExecutionContext) => void [data, ctx]);
  });

  it("type getSlot and getEvent by the spec", () => {
    const ask = new Ask();
    expectTypeOf(ask.getSlot("trigger")).toEqualTypeOf<Slot<Question> | undefined>();
    expectTypeOf(ask.getEvent("asked")).toEqualTypeOf<Event<{ question: string; at: number }> | undefined>();
    expect(ask.getSlot("trigger")).toBe(ask.trigger);
    expect(ask.getEvent("asked")).toBe(ask.asked);
    function _compileOnly(): void {
      // @ts-expect-error: no slot "trigre"
      ask.getSlot("trigre");
    }
    expect(_compileOnly).toBeTypeOf("function");
  });

  it("reject misspelled names and wrong payloads", () => {
    // Never called: these lines only have to (not) compile.
    function _compileOnly(ask: Ask, ctx: HandlerContext<AskSpec>, plain: Routine<AskSpec>): void {
      // @ts-expect-error: no event "donee"
      ask.emit("donee", {});
      // @ts-expect-error: a misspelled field
      ask.emit("asked", { questoin: "q", at: 1 });
      // @ts-expect-error: a missing field
      ask.emit("asked", { question: "q" });
      // @ts-expect-error: data is required when the event has required fields
      ask.emit("asked");
      ask.emit("skipped"); // all its fields are optional
      // @ts-expect-error: a wrong field type
      ctx.emit("asked", { question: 1, at: 1 });
      // @ts-expect-error: no event "askd" on the context either
      ctx.emit("askd", { question: "q", at: 1 });
      // @ts-expect-error: the spec lacks slot "inptu"
      plain.defineSlot("inptu");
      // @ts-expect-error: the spec lacks event "done"
      plain.defineEvent("done");
      // @ts-expect-error: "answer" is not a field of "asked"
      plain.defineEvent("asked", ["answer"]);
      // @ts-expect-error: a handler needing a field the spec does not promise
      plain.defineSlot("trigger", (data: { question: string; userId: string }) => void data);
      // @ts-expect-error: deliverLater takes the spec's slots and data
      ctx.deliverLater("retry", { attempt: "1" }, 10);
      // @ts-expect-error: waitForInput names a slot of the spec
      ctx.waitForInput({ slot: "trigre" });
      ctx.deliverLater("retry", { attempt: 1 }, 10);
      ctx.waitForInput({ slot: "trigger", prompt: "?" });
    }
    expect(_compileOnly).toBeTypeOf("function");
  });

  it("type a slot's schema by the slot's data", () => {
    const r = new Routine<AskSpec>();
    r.defineSlot("trigger", undefined, { schema: z.object({ question: z.string(), lang: z.string().optional() }) });
    function _compileOnly(): void {
      // @ts-expect-error: the schema's output does not fit the slot's data
      r.defineSlot("retry", undefined, { schema: z.object({ attempt: z.string() }) });
    }
    expect(r.getSlot("trigger")?.schema).toBeDefined();
    expect(_compileOnly).toBeTypeOf("function");
  });
});

describe("flow.connect with handles", () => {
  it("compiles when the event's payload fits the slot, and wires the routines' ids", async () => {
    const flow = new Flow();
    const ask = new Ask();
    const answer = new Answer();
    flow.addRoutine(ask, "ask");
    flow.addRoutine(answer, "answer");
    const connection = flow.connect(ask.asked, answer.input); // { question, at } fits { question }
    expect(connection.id).toBe("ask.asked->answer.input");
    const result = await flow.run("ask", { entryParams: { question: "six times seven" } });
    expect(result.status).toBe("completed");
    expect(flow.getRoutine("answer")).toBe(answer);
    const job = flow.execute("ask", { entryParams: { question: "q" } });
    await job.result();
    expect(job.getExecutionHistory("answer").map((r) => r.data)).toEqual([{ answer: "q? 42" }]);
  });

  it("does not compile when the payload does not fit, unless a paramMapping is given", () => {
    const flow = new Flow();
    const ask = new Ask();
    const answer = new Answer();
    flow.addRoutine(ask, "ask");
    flow.addRoutine(answer, "answer");
    function _compileOnly(): void {
      // @ts-expect-error: { reason?: string } lacks the slot's `question`
      flow.connect(ask.skipped, answer.input);
      // @ts-expect-error: an event where a slot belongs
      flow.connect(ask.asked, ask.asked);
    }
    expect(_compileOnly).toBeTypeOf("function");
    const connection = flow.connect(ask.skipped, answer.input, { reason: "question" });
    expect(connection.paramMapping).toEqual({ reason: "question" });
  });

  it("refuses a handle of a routine that is not in the flow, naming it", () => {
    const flow = new Flow({ flowId: "f" });
    const ask = new Ask();
    const answer = new Answer();
    flow.addRoutine(ask, "ask");
    expect(() => flow.connect(ask.asked, answer.input)).toThrow(FlowDefinitionError);
    expect(() => flow.connect(ask.asked, answer.input)).toThrow(
      new RegExp(`slot 'input' given to connect belongs to routine Answer \\(${answer.id}\\), which is not in flow 'f'`),
    );
  });

  it("keeps the string form", () => {
    const flow = new Flow();
    flow.addRoutine(new Ask(), "ask");
    flow.addRoutine(new Answer(), "answer");
    expect(flow.connect("ask", "asked", "answer", "input").id).toBe("ask.asked->answer.input");
  });
});

describe("defineRoutine", () => {
  it("builds a typed routine from functions", async () => {
    interface UpperSpec { slots: { input: { text: string } }; events: { done: { upper: string } } }
    const upper = defineRoutine<UpperSpec>({
      name: "Upper",
      slots: {
        input(data, ctx) {
          expectTypeOf(data).toEqualTypeOf<{ text: string }>();
          expectTypeOf(this).toEqualTypeOf<Routine<UpperSpec>>();
          ctx.emit("done", { upper: data.text.toUpperCase() });
        },
      },
      events: { done: ["upper"] },
    });
    expect(upper).toBeInstanceOf(Routine);
    expect(upper.constructor.name).toBe("Upper");
    // Typed, it has every slot and event of its spec: handles without `undefined`.
    expectTypeOf(upper.getSlot("input")).toEqualTypeOf<Slot<{ text: string }>>();
    expectTypeOf(upper.getEvent("done")).toEqualTypeOf<Event<{ upper: string }>>();
    expect(upper.getSlot("input").name).toBe("input");
    const flow = new Flow();
    const source = defineRoutine({ slots: { trigger: (data, ctx) => ctx.emit("out", data) }, events: { out: [] } });
    flow.addRoutine(source, "source");
    flow.addRoutine(upper, "upper");
    flow.connect("source", "out", "upper", "input");
    const job = flow.execute("source", { entryParams: { text: "abc" } });
    await job.result();
    expect(job.getExecutionHistory("upper").map((r) => r.data)).toEqual([{ upper: "ABC" }]);
    function _compileOnly(): void {
      // @ts-expect-error: the spec's events must be listed
      defineRoutine<UpperSpec>({ slots: { input: () => undefined } });
      // @ts-expect-error: a slot of the spec is missing
      defineRoutine<UpperSpec>({ slots: {}, events: { done: ["upper"] } });
      // @ts-expect-error: "uper" is not a field of "done"
      defineRoutine<UpperSpec>({ slots: { input: () => undefined }, events: { done: ["uper"] } });
      defineRoutine<UpperSpec>({
        slots: {
          // @ts-expect-error: no event "don"
          input: (data, ctx) => ctx.emit("don", { upper: data.text }),
        },
        events: { done: ["upper"] },
      });
    }
    expect(_compileOnly).toBeTypeOf("function");
  });

  it("refuses a malformed definition, naming the part at fault", () => {
    expect(() => defineRoutine({ name: "Bad", slots: { input: 42 as never } })).toThrow(/slot 'input' of defineRoutine 'Bad'/);
    expect(() => defineRoutine({ slots: {}, events: { done: "summary" as never } })).toThrow(/event 'done' of defineRoutine/);
  });
});

describe("defineRoutine in flow documents", () => {
  interface EchoSpec { slots: { trigger: { text: string } }; events: { echoed: { text: string } } }
  const echoDefinition = {
    name: "Echo",
    slots: { trigger: (data: { text: string }, ctx: HandlerContext<EchoSpec>) => ctx.emit("echoed", { text: data.text }) },
    events: { echoed: ["text"] },
  } satisfies RoutineDefinition<EchoSpec>;

  it("are named by their `name`, and rebuilt from a document once their class is registered", async () => {
    const flow = new Flow({ flowId: "echo-flow" });
    const echo = defineRoutine<EchoSpec>(echoDefinition);
    flow.addRoutine(echo, "echo");
    const doc = flow.serialize();
    expect(doc.routines.map((r) => r.type)).toEqual(["Echo"]);

    expect(() => Flow.deserialize(doc, new RoutineRegistry())).toThrow(/unknown routine type 'Echo'/);
    const registry = new RoutineRegistry();
    registry.register("Echo", echo.constructor);
    const rebuilt = Flow.deserialize(JSON.parse(JSON.stringify(doc)), registry);
    expect(rebuilt.getRoutine("echo")).toBeInstanceOf(echo.constructor);
    const job = rebuilt.execute("echo", { entryParams: { text: "hi" } });
    await job.result();
    expect(job.getExecutionHistory("echo").map((r) => [r.eventName, r.data])).toEqual([["start", { text: "hi" }], ["echoed", { text: "hi" }]]);
  });

  it("cannot be written to a document without a name", () => {
    const flow = new Flow();
    flow.addRoutine(defineRoutine<EchoSpec>({ ...echoDefinition, name: undefined }), "echo");
    expect(() => flow.serialize()).toThrow(/anonymous class.*defineRoutine: its `name` option/);
  });
});
