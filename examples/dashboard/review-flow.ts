/**
 * The flow the dashboard demo and its tests run: a document review with a flaky step (retried),
 * a join, a person's decision (a schema-checked slot, answered in the dashboard's form) and a
 * publish step. `stepMs` slows every step down, so a job can be watched as it runs.
 *
 *   ingest --document--> extract --extracted--> classify --classified--> collect --ready--> review --decided--> publish
 */
import { z } from "zod";
import { ErrorHandler, ErrorStrategy, Flow, Routine, type HandlerContext, type JobStore, type Payload } from "../../src/index.js";

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/** Documents a demo job reviews. */
export const DOCUMENTS = [
  { name: "invoice-0042.txt", text: "Invoice 42: total due 1,200 EUR by 30 June. Payment by bank transfer." },
  { name: "contract-acme.txt", text: "This agreement between ACME and the client covers support and liability for two years." },
  { name: "complaint-17.txt", text: "The delivery was late and the package damaged; I want a refund or a replacement." },
];

/** What a reviewer answers: the dashboard builds its form from this schema. */
export const Decision = z.object({
  approve: z.boolean(),
  note: z.string().max(200).optional(),
});

class Ingest extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.ingest);
    this.defineEvent("document", ["name", "text"]);
  }

  ingest(data: Payload, ctx: HandlerContext): void {
    const documents = Array.isArray(data.documents) ? (data.documents as typeof DOCUMENTS) : DOCUMENTS;
    ctx.shared.set("expected", documents.length);
    ctx.shared.set("review", data.review !== false);
    for (const doc of documents) this.emit("document", doc);
  }
}

class Extract extends Routine {
  constructor(private readonly stepMs: number) {
    super();
    this.defineSlot("input", this.extract);
    this.defineEvent("extracted", ["name", "words"]);
  }

  async extract(data: Payload, ctx: HandlerContext): Promise<void> {
    const name = String(data.name);
    await sleep(this.stepMs, ctx.signal);
    // The contract's first attempt fails: the timeline shows the error and the retry.
    if (name.startsWith("contract") && ctx.attempt === 1) throw new Error(`extraction service busy for ${name}`);
    const words = String(data.text).toLowerCase().match(/[a-z]+/g) ?? [];
    this.emit("extracted", { name, words });
  }
}

const TOPICS: Record<string, string[]> = {
  finance: ["invoice", "payment", "total", "due", "refund"],
  legal: ["agreement", "liability", "contract", "covers"],
  operations: ["ship", "delivery", "package", "hire", "review"],
};

class Classify extends Routine {
  constructor(private readonly stepMs: number) {
    super();
    this.defineSlot("input", this.classify);
    this.defineEvent("classified", ["name", "topic"]);
  }

  async classify(data: Payload, ctx: HandlerContext): Promise<void> {
    await sleep(this.stepMs, ctx.signal);
    const words = data.words as string[];
    let topic = "other";
    let best = 0;
    for (const [candidate, keywords] of Object.entries(TOPICS)) {
      const hits = words.filter((w) => keywords.includes(w)).length;
      if (hits > best) [topic, best] = [candidate, hits];
    }
    this.emit("classified", { name: data.name, topic });
  }
}

class Collect extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.collect, { mergeStrategy: "append" });
    this.defineEvent("ready", ["names", "topics"]);
  }

  collect(data: Payload, ctx: HandlerContext): void {
    const names = data.name as string[];
    if (names.length === ctx.shared.get<number>("expected", 0)) this.emit("ready", { names, topics: data.topic });
  }
}

class Review extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.ask);
    this.defineSlot("decision", this.decide, { schema: Decision });
    this.defineEvent("decided", ["names", "topics", "approve", "note"]);
  }

  ask(data: Payload, ctx: HandlerContext): void {
    ctx.shared.set("batch", { names: data.names, topics: data.topics });
    if (ctx.shared.get<boolean>("review", true)) {
      ctx.waitForInput({ slot: "decision", prompt: `Publish ${(data.names as string[]).length} classified documents?` });
    } else {
      this.emit("decided", { names: data.names, topics: data.topics, approve: true, note: "approved without review" });
    }
  }

  decide(data: Payload, ctx: HandlerContext): void {
    const batch = ctx.shared.get<{ names: string[]; topics: string[] }>("batch");
    this.emit("decided", { ...batch, approve: data.approve, note: data.note ?? "" });
  }
}

class Publish extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.publish);
  }

  publish(data: Payload, ctx: HandlerContext): void {
    if (data.approve !== true) {
      ctx.sendOutput("rejected", { note: data.note });
      return;
    }
    const names = data.names as string[];
    const topics = data.topics as string[];
    names.forEach((name, i) => ctx.shared.update<Payload>("published", (all = {}) => ({ ...all, [name]: topics[i] ?? "other" })));
    ctx.sendOutput("published", { count: names.length });
  }
}

/**
 * The document-review flow on `store`. Entry params: `{ documents?, review? }`; with `review:
 * false` the job completes without waiting for a person.
 */
export function reviewFlow(store: JobStore, options: { stepMs?: number } = {}): Flow {
  const stepMs = options.stepMs ?? 400;
  const flow = new Flow({ flowId: "document-review", executionStrategy: "concurrent", maxWorkers: 4, store });
  const extract = new Extract(stepMs);
  extract.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: stepMs }));
  flow.addRoutine(new Ingest(), "ingest");
  flow.addRoutine(extract, "extract");
  flow.addRoutine(new Classify(stepMs), "classify");
  flow.addRoutine(new Collect(), "collect");
  flow.addRoutine(new Review(), "review");
  flow.addRoutine(new Publish(), "publish");
  flow.connect("ingest", "document", "extract", "input");
  flow.connect("extract", "extracted", "classify", "input");
  flow.connect("classify", "classified", "collect", "input");
  flow.connect("collect", "ready", "review", "input");
  flow.connect("review", "decided", "publish", "input");
  return flow;
}
