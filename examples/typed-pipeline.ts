/**
 * Typed routines: a three-step pipeline whose payloads are declared once, in each routine's spec.
 *
 * Handlers get their data typed from the spec, `emit` takes only the spec's events with their
 * fields, and `flow.connect(event, slot)` compiles only when the event's data fits the slot's. So
 * no handler casts its data, and none of these compiles:
 *
 *   this.emit("fetchd", { url, text });          // no such event
 *   this.emit("fetched", { url });               // `text` is missing
 *   flow.connect(fetch.fetched, report.input);   // { url, text } lacks the report's `words`
 *
 * Run: npx tsx examples/typed-pipeline.ts
 */
import { Flow, Routine, defineRoutine, type HandlerContext } from "../src/index.js";

/** A fetched page. */
interface Page {
  url: string;
  text: string;
}

interface FetchSpec {
  slots: { trigger: { url: string } };
  events: { fetched: Page };
}

/** Fetches a page (a canned text here; an HTTP call in real life). */
class Fetch extends Routine<FetchSpec> {
  readonly trigger = this.defineSlot("trigger", this.fetch);
  readonly fetched = this.defineEvent("fetched", ["url", "text"]);

  fetch(data: { url: string }): void {
    const text = "Routilux runs flows of routines. Every job keeps its own state. Jobs pause, resume and survive a crash.";
    this.emit("fetched", { url: data.url, text });
  }
}

interface SummarizeSpec {
  slots: { input: Page };
  events: { summarized: { url: string; sentences: number; words: number; first: string } };
}

/** A small step needs no class: defineRoutine builds it from a function. */
const summarize = defineRoutine<SummarizeSpec>({
  name: "Summarize",
  slots: {
    input(data, ctx) {
      const sentences = data.text.split(/(?<=\.)\s+/);
      ctx.emit("summarized", { url: data.url, sentences: sentences.length, words: data.text.split(/\s+/).length, first: sentences[0] ?? "" });
    },
  },
  events: { summarized: ["url", "sentences", "words", "first"] },
});

interface ReportSpec {
  slots: { input: { url: string; words: number; first: string } };
}

/** Reports what it needs of a summary: it declares only those fields. */
class Report extends Routine<ReportSpec> {
  readonly input = this.defineSlot("input", this.report);

  report(data: { url: string; words: number; first: string }, ctx: HandlerContext<ReportSpec>): void {
    ctx.shared.set("words", data.words);
    ctx.sendOutput("report", { url: data.url, words: data.words, first: data.first });
  }
}

const flow = new Flow({ flowId: "typed-pipeline" });
const fetch = new Fetch();
const report = new Report();
flow.addRoutine(fetch, "fetch");
flow.addRoutine(summarize, "summarize");
flow.addRoutine(report, "report");
flow.connect(fetch.fetched, summarize.getSlot("input"));
// { url, sentences, words, first } fits { url, words, first }: extra fields pass along.
flow.connect(summarize.getEvent("summarized"), report.input);

const result = await flow.run("fetch", { entryParams: { url: "https://example.com" } });
if (result.status === "completed") {
  for (const output of result.outputs) console.log(`${output.outputType}: ${JSON.stringify(output.data)}`);
  console.log(`Shared data: ${JSON.stringify(result.sharedData)}`);
} else {
  console.log(`The job did not complete: ${result.status}`);
  process.exitCode = 1;
}

// A status read after an await is read anew: this compiles, with no cast.
const job = flow.execute("fetch", { entryParams: { url: "https://example.org" } });
if (job.status === "running") {
  await job.result();
  if (job.status === "completed") console.log(`Second job: ${job.status}, words=${String(job.getSharedData("words"))}`);
}
