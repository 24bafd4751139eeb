/**
 * `npm run demo`: a document-review pipeline, end to end, on the embedded SQLite store.
 *
 *   ingest --document--> extract --extracted--> classify --classified--> collect --ready--> review
 *   (fan-out to one          (flaky: retried             (append merge: waits      (asks a person, pauses
 *    task per document)       with backoff)               for every document)       the job for the answer)
 *                                                                                      |
 *                                                          publish <--decided (deferred)-+
 *
 * The demo plays the person: when the job pauses it reads the question, answers, and resumes.
 * Everything is written to ./.routilux/jobs.db as it runs; no network is used.
 */
import {
  CallbackOutputHandler,
  ErrorHandler,
  ErrorStrategy,
  Flow,
  JobState,
  Routine,
  SqliteJobStore,
  type ExecutionContext,
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

class Review extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.review);
    this.defineEvent("decided", ["names", "topics"]);
  }

  async review(data: Record<string, unknown>, ctx: ExecutionContext): Promise<void> {
    const question = `Publish ${(data.names as string[]).length} classified documents?`;
    this.sendOutput("question", { question });
    // Delivered to `publish` when the job resumes, after the person has answered.
    this.emitDeferredEvent("decided", data);
    await ctx.flow.pause(ctx.jobState, { reason: "waiting for a reviewer", checkpoint: { question } });
  }
}

class Publish extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.publish);
  }

  publish(data: Record<string, unknown>, ctx: ExecutionContext): void {
    const answer = ctx.jobState.getSharedData<string>("answer", "no");
    const names = data.names as string[];
    const topics = data.topics as string[];
    if (answer !== "yes") {
      this.sendOutput("rejected", { count: names.length });
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

async function main(): Promise<void> {
  const started = performance.now();
  const store = new SqliteJobStore(); // ./.routilux/jobs.db
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

  console.log("routilux demo: document review on the SQLite store (./.routilux/jobs.db)\n");
  const outputs = new CallbackOutputHandler((routineId, type, data) => log(`output from ${routineId}: ${type} ${JSON.stringify(data)}`));
  const job = flow.execute("ingest", { entryParams: { documents: DOCUMENTS }, outputHandler: outputs, metadata: { requestedBy: "demo" } });
  console.log(`job ${job.jobId} started\n`);

  await JobState.waitForCompletion(flow, job);
  console.log(`\njob is ${job.status}: ${job.pausePoints.at(-1)?.reason ?? ""}`);
  if (job.status !== "paused") throw new Error(`expected the job to pause for a reviewer, it is ${job.status}`);

  // What a second process would see: the paused job, durable in the store.
  const stored = await store.loadJob(job.jobId);
  console.log(`the store holds it as ${stored?.status}, with ${stored?.pendingTasks.length ?? 0} pending tasks and ` +
    `${stored?.deferredEvents.length ?? 0} deferred event(s)`);

  console.log(`reviewer is asked: "${String(job.checkpoint?.question)}" and answers: yes\n`);
  job.updateSharedData("answer", "yes");
  flow.resume(job);
  await JobState.waitForCompletion(flow, job);

  const counts: Record<string, number> = {};
  for (const record of job.executionHistory) counts[record.eventName] = (counts[record.eventName] ?? 0) + 1;
  const extractFigures = flow.executionTracker.getRoutinePerformance("extract");
  console.log("\nsummary");
  log(`status:        ${job.status}`);
  log(`history:       ${job.executionHistory.length} records ${JSON.stringify(counts)}`);
  log(`outputs:       ${job.outputLog.map((o) => o.outputType).join(", ")}`);
  log(`published:     ${JSON.stringify(job.getSharedLog())}`);
  log(`extract:       ${extractFigures.activations} activations, ${extractFigures.retried} retried, avg ${extractFigures.avgMs.toFixed(1)} ms`);
  log(`job time:      ${job.updatedAt.getTime() - job.createdAt.getTime()} ms (including the pause)`);
  const reloaded = await store.loadJob(job.jobId);
  log(`in the store:  ${reloaded?.status}, ${reloaded?.executionHistory.length} history records`);
  log(`wall time:     ${(performance.now() - started).toFixed(0)} ms`);

  await flow.shutdown();
  await store.close();
  const final: string = job.status;
  if (final !== "completed") process.exitCode = 1;
}

await main();
