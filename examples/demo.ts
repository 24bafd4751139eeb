/**
 * `npm run demo`: a document-review pipeline, end to end, on the embedded SQLite store.
 *
 *   ingest --document--> extract --extracted--> classify --classified--> collect --ready--> review
 *   (fan-out to one          (flaky: retried             (append merge: waits      (waits for a person's
 *    task per document)       with backoff)               for every document)       decision, validated)
 *                                                                                      |
 *                                                                  publish <--decided--+
 *
 * The demo plays the reviewer from a second handle on the store, as another process would: it
 * reads what the job waits for, sends a malformed decision (refused, naming the field), then a
 * good one, which the process running the job takes and applies.
 * Everything is written to ./.routilux/jobs.db as it runs; no network is used.
 */
import { z } from "zod";
import {
  CallbackOutputHandler,
  ErrorHandler,
  ErrorStrategy,
  Flow,
  Routine,
  SqliteJobStore,
  ValidationError,
  type ExecutionContext,
  type HandlerContext,
} from "../src/index.js";

const DOCUMENTS = [
  { name: "invoice-0042.txt", text: "Invoice 42: total due 1,200 EUR by 30 June. Payment by bank transfer." },
  { name: "contract-acme.txt", text: "This agreement between ACME and the client covers support and liability for two years." },
  { name: "meeting-notes.txt", text: "Notes: ship the beta on Friday, review the invoice backlog, hire one engineer." },
  { name: "complaint-17.txt", text: "The delivery was late and the package damaged; I want a refund or a replacement." },
];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string): void => console.log(`  ${line}`);

class Ingest extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.ingest);
    this.defineEvent("document", ["name", "text"]);
  }

  ingest(data: Record<string, unknown>, ctx: ExecutionContext): void {
    const documents = data.documents as typeof DOCUMENTS;
    ctx.jobState.updateSharedData("expected", documents.length);
    log(`ingest: ${documents.length} documents, one task each`);
    for (const doc of documents) this.emit("document", doc);
  }
}

class Extract extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.extract);
    this.defineEvent("extracted", ["name", "words"]);
  }

  async extract(data: Record<string, unknown>, ctx: ExecutionContext): Promise<void> {
    const name = String(data.name);
    await sleep(15); // an OCR or parsing service in real life
    if (name.startsWith("contract") && ctx.attempt === 1) {
      log(`extract: ${name} failed (service busy), will retry`);
      throw new Error(`extraction service busy for ${name}`);
    }
    const words = String(data.text).toLowerCase().match(/[a-z]+/g) ?? [];
    log(`extract: ${name}, ${words.length} words${ctx.attempt > 1 ? ` (attempt ${ctx.attempt})` : ""}`);
    this.emit("extracted", { name, words });
  }
}

const TOPICS: Record<string, string[]> = {
  finance: ["invoice", "payment", "total", "due", "refund"],
  legal: ["agreement", "liability", "contract", "covers"],
  operations: ["ship", "delivery", "package", "hire", "review"],
};

class Classify extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.classify);
    this.defineEvent("classified", ["name", "topic", "score"]);
  }

  classify(data: Record<string, unknown>): void {
    const words = data.words as string[];
    let topic = "other";
    let score = 0;
    for (const [candidate, keywords] of Object.entries(TOPICS)) {
      const hits = words.filter((w) => keywords.includes(w)).length;
      if (hits > score) [topic, score] = [candidate, hits];
    }
    log(`classify: ${String(data.name)} -> ${topic} (${score} keyword hits)`);
    this.emit("classified", { name: data.name, topic, score });
  }
}

class Collect extends Routine {
  constructor() {
    super();
    // "append": per job, each key keeps the list of every value received so far.
    this.defineSlot("input", this.collect, { mergeStrategy: "append" });
    this.defineEvent("ready", ["names", "topics"]);
  }

  collect(data: Record<string, unknown>, ctx: ExecutionContext): void {
    const names = data.name as string[];
    const expected = ctx.jobState.getSharedData<number>("expected", 0);
    log(`collect: ${names.length}/${expected} classified`);
    if (names.length === expected) this.emit("ready", { names, topics: data.topic });
  }
}

/** What a reviewer answers; checked where the answer enters, before the job sees it. */
const Decision = z.object({ approve: z.boolean(), note: z.string().max(200).optional() });

class Review extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.ask);
    this.defineSlot("decision", this.decide, { schema: Decision });
    this.defineEvent("decided", ["names", "topics", "approve", "note"]);
  }

  ask(data: Record<string, unknown>, ctx: HandlerContext): void {
    const question = `Publish ${(data.names as string[]).length} classified documents?`;
    ctx.shared.set("batch", { names: data.names, topics: data.topics });
    this.sendOutput("question", { question });
    // The job pauses once this handler has returned, stored with what it did, until the answer comes.
    ctx.waitForInput({ slot: "decision", prompt: question });
  }

  decide(data: Record<string, unknown>, ctx: HandlerContext): void {
    const batch = ctx.shared.get<{ names: string[]; topics: string[] }>("batch");
    log(`review: decision ${JSON.stringify(data)}`);
    this.emit("decided", { ...batch, approve: data.approve, note: data.note ?? "" });
  }
}

class Publish extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.publish);
  }

  publish(data: Record<string, unknown>, ctx: ExecutionContext): void {
    const names = data.names as string[];
    const topics = data.topics as string[];
    if (data.approve !== true) {
      this.sendOutput("rejected", { count: names.length, note: data.note });
      return;
    }
    const byTopic: Record<string, string[]> = {};
    names.forEach((name, i) => (byTopic[topics[i] ?? "other"] ??= []).push(name));
    for (const [topic, docs] of Object.entries(byTopic)) {
      ctx.jobState.appendToSharedLog({ topic, docs });
      this.sendOutput("published", { topic, docs });
    }
  }
}

/** The flow, as every process that runs or answers its jobs defines it. */
function reviewFlow(store: SqliteJobStore): Flow {
  const flow = new Flow({ flowId: "document-review", executionStrategy: "concurrent", maxWorkers: 4, store });
  const extract = new Extract();
  extract.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 40 }));
  flow.addRoutine(new Ingest(), "ingest");
  flow.addRoutine(extract, "extract");
  flow.addRoutine(new Classify(), "classify");
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

async function main(): Promise<void> {
  const started = performance.now();
  const store = new SqliteJobStore(); // ./.routilux/jobs.db
  const flow = reviewFlow(store);

  console.log("routilux demo: document review on the SQLite store (./.routilux/jobs.db)\n");
  const statuses: string[] = [];
  flow.subscribe((event) => {
    if (event.type === "status") statuses.push(event.status);
  });
  const outputs = new CallbackOutputHandler((routineId, type, data) => log(`output from ${routineId}: ${type} ${JSON.stringify(data)}`));
  // start() resolves once the job is in the store: from here on, nothing it does can be lost.
  const job = await flow.start("ingest", { entryParams: { documents: DOCUMENTS }, outputHandler: outputs, metadata: { requestedBy: "demo" } });
  console.log(`job ${job.jobId} stored and started\n`);

  const waiting = await job.result();
  if (waiting.status !== "paused") throw new Error(`expected the job to wait for a reviewer, it is ${waiting.status}`);
  const [wait] = waiting.waitingFor ?? [];
  console.log(`\njob is paused, waiting for ${wait?.routineId}.${wait?.slotName}: "${wait?.prompt}"`);

  // The reviewer's side: another handle on the store, as a web app or `routilux jobs answer` would have.
  const reviewerStore = new SqliteJobStore();
  const reviewer = reviewFlow(reviewerStore);
  const [listed] = await reviewerStore.listJobs({ flowId: "document-review", status: "paused" });
  console.log(`the reviewer finds it in the store: ${listed?.status}, waiting for ${JSON.stringify(listed?.waitingFor)}`);
  const refused = await reviewer.answer(job.jobId, "review", "decision", { approve: "yes" }).then(() => undefined, (e: unknown) => e);
  if (!(refused instanceof ValidationError)) throw new Error("a malformed decision should have been refused");
  console.log(`a malformed decision is refused, and the job keeps waiting: ${refused.message}`);
  console.log("the reviewer approves\n");
  await reviewer.answer(job.jobId, "review", "decision", { approve: true, note: "looks right" });

  const result = await job.result();
  const counts: Record<string, number> = {};
  for (const record of job.executionHistory) counts[record.eventName] = (counts[record.eventName] ?? 0) + 1;
  const extractFigures = flow.executionTracker.getRoutinePerformance("extract");
  console.log("\nsummary");
  log(`status:        ${result.status} (went through ${statuses.join(" -> ")})`);
  log(`history:       ${job.executionHistory.length} records ${JSON.stringify(counts)}`);
  log(`outputs:       ${job.outputLog.map((o) => o.outputType).join(", ")}`);
  log(`published:     ${JSON.stringify(job.getSharedLog())}`);
  log(`extract:       ${extractFigures.activations} activations, ${extractFigures.retried} retried, avg ${extractFigures.avgMs.toFixed(1)} ms`);
  log(`job time:      ${job.updatedAt.getTime() - job.createdAt.getTime()} ms (including the wait)`);
  const reloaded = await reviewerStore.loadJob(job.jobId);
  log(`in the store:  ${reloaded?.status}, ${reloaded?.executionHistory.length} history records, revision ${reloaded?.revision}`);
  log(`wall time:     ${(performance.now() - started).toFixed(0)} ms`);

  await Promise.all([flow.shutdown(), reviewer.shutdown()]);
  await Promise.all([store.close(), reviewerStore.close()]);
  if (result.status !== "completed") process.exitCode = 1;
}

await main();
