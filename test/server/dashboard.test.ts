// The dashboard end to end in headless Chromium (playwright-core with the system's chromium):
// jobs appear and complete live, a job is paused and resumed, a waiting job is answered through
// the form built from its slot's schema. Screenshots of each page go to .tmp/dashboard/.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Flow } from "../../src/index.js";
import { startServer, type RunningServer } from "../../src/server/index.js";
import { DOCUMENTS, reviewFlow } from "../../examples/dashboard/review-flow.js";
import { tempStore } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = ".tmp/dashboard";
/** Enough documents that a job runs for a second or two (four workers, two steps of `stepMs` each). */
const MANY = Array.from({ length: 12 }, (_, i) => ({ ...DOCUMENTS[i % DOCUMENTS.length]!, name: `doc-${i}.txt` }));

let temp: Awaited<ReturnType<typeof tempStore>>;
let flow: Flow;
let server: RunningServer;
let browser: Browser;
let page: Page;
/** What the page's Content-Security-Policy refused (reported on the console). */
const refused: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  await mkdir(SHOTS, { recursive: true });
  temp = await tempStore();
  flow = reviewFlow(temp.store, { stepMs: 200 });
  server = await startServer({ flows: [flow], port: 0, pollIntervalMs: 100 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) refused.push(message.text());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await flow?.shutdown({ graceMs: 1000 });
  await temp?.cleanup();
});

const row = (jobId: string, status?: string): string => `[data-testid=job-row][data-job-id="${jobId}"]${status === undefined ? "" : `[data-status=${status}]`}`;

describe("dashboard", () => {
  it("sends its page and files with a policy that forbids framing, under which it works", async () => {
    for (const path of ["", "assets/app.js", "assets/app.css"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("content-security-policy"), path).toMatch(/frame-ancestors 'none'/);
      expect(response.headers.get("content-security-policy"), path).toMatch(/default-src 'self'/);
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
    // Another site's page that frames the dashboard gets nothing (setContent waits for the frame to load).
    const framing = await browser.newPage();
    try {
      await framing.setContent(`<iframe src="${server.url}"></iframe>`);
      expect(await framing.frames()[1]?.locator("#app").count() ?? 0).toBe(0);
    } finally {
      await framing.close();
    }
  });

  it("shows a job started elsewhere appear in the jobs list and complete live", async () => {
    await page.goto(server.url);
    await page.waitForSelector("[data-testid=no-jobs]");
    await page.waitForSelector("[data-testid=live]:has-text('live')");
    const job = await flow.start("ingest", { entryParams: { review: false } });
    await page.waitForSelector(row(job.jobId));
    await page.waitForSelector(row(job.jobId, "completed"));
    expect((await job.result()).status).toBe("completed");
    await page.screenshot({ path: `${SHOTS}/jobs.png`, fullPage: true });
  });

  it("shows a flow's graph with its routines and ports, and starts a job from its page", async () => {
    await page.goto(`${server.url}#/flows/document-review`);
    await page.waitForSelector("[data-testid=flow-graph] [data-routine=review]");
    const nodes = await page.locator("[data-testid=flow-graph] [data-routine]").all();
    const routines = await Promise.all(nodes.map((node) => node.getAttribute("data-routine")));
    expect(routines.sort()).toEqual(["classify", "collect", "extract", "ingest", "publish", "review"]);
    expect(await page.locator("[data-testid=flow-graph] [data-routine=review] .port.slot").count()).toBe(2);
    await page.screenshot({ path: `${SHOTS}/flow.png`, fullPage: true });
    await page.fill("textarea[name=params]", JSON.stringify({ review: false }));
    await page.click("[data-testid=start-job] button[type=submit]");
    await page.waitForURL(/#\/jobs\//);
    await page.waitForSelector("[data-testid=job-status]:has-text('completed')");
    // The contract's first extraction fails and is retried: the timeline shows both.
    await page.waitForSelector("[data-testid=timeline] [data-event=error]");
    await page.waitForSelector("[data-testid=timeline] [data-event=retry]");
    await page.locator("[data-testid=timeline]").scrollIntoViewIfNeeded();
    // Error, retry and answer marks are drawn over the emits at the same time: the mark at each one's centre is itself.
    const hidden = await page.evaluate(`[...document.querySelectorAll("[data-testid=timeline] .mark:not(.mark-emit)")].filter((mark) => {
      const box = mark.getBoundingClientRect();
      return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) !== mark;
    }).map((mark) => mark.getAttribute("data-event"))`);
    expect(hidden).toEqual([]);
    expect(await page.locator("[data-testid=timeline] .mark:not(.mark-emit)").count()).toBeGreaterThanOrEqual(4);
    await page.locator("[data-testid=history-row]").filter({ hasText: "retry" }).first().click();
    await expect.poll(() => page.locator("[data-testid=payload-json]").textContent()).toContain("\"attempt\": 2");
    expect(await page.locator("[data-testid=job-graph] [data-routine=publish]").getAttribute("data-status")).toBe("completed");
    await page.screenshot({ path: `${SHOTS}/job.png`, fullPage: true });
    expect(refused).toEqual([]);
  });

  it("pauses a running job and resumes it with the buttons", async () => {
    const job = await flow.start("ingest", { entryParams: { review: false, documents: MANY } });
    await page.goto(`${server.url}#/jobs/${job.jobId}`);
    await page.waitForSelector("[data-testid=job-status]:has-text('running')");
    await page.click("[data-testid=pause]");
    await page.waitForSelector("[data-testid=job-status]:has-text('paused')");
    expect((await temp.store.readJob(job.jobId))?.status).toBe("paused");
    expect(await page.locator("[data-testid=pause]").isDisabled()).toBe(true);
    await page.waitForSelector("[data-testid=pending-tasks] tbody tr");
    await page.screenshot({ path: `${SHOTS}/job-paused.png`, fullPage: true });
    await page.click("[data-testid=resume]");
    await page.waitForSelector("[data-testid=job-status]:has-text('completed')");
    expect(await page.locator("[data-testid=shared-data]").textContent()).toContain("doc-11.txt");
  });

  it("answers a waiting job with the form built from the slot's schema; a bad answer is refused with the field named", async () => {
    const job = await flow.start("ingest", { entryParams: { review: true } });
    await page.goto(`${server.url}#/jobs/${job.jobId}`);
    await page.waitForSelector("[data-testid=job-status]:has-text('waiting')");
    const form = page.locator("[data-testid='answer-review.decision']");
    await expect.poll(() => form.textContent()).toContain("Publish 3 classified documents?");
    expect(await page.locator("[data-testid=job-graph] [data-routine=review]").getAttribute("data-status")).toBe("waiting");
    await form.locator("input[name=approve]").check();
    await form.locator("input[name=note]").fill("x".repeat(201));
    await form.locator("button[type=submit]").click();
    await expect.poll(() => page.locator("[data-testid=answer-error]").textContent()).toContain("note");
    await page.screenshot({ path: `${SHOTS}/job-waiting.png`, fullPage: true });
    await form.locator("input[name=note]").fill("ship it");
    await form.locator("button[type=submit]").click();
    await page.waitForSelector("[data-testid=job-status]:has-text('completed')");
    const result = await job.result();
    expect(result.status).toBe("completed");
    expect(await page.locator("[data-testid=shared-data]").textContent()).toContain("invoice-0042.txt");
    expect(refused).toEqual([]);
  });

  it("asks for the token of a server that wants one, then shows its jobs", async () => {
    const token = "dashboard-token-42";
    const guarded = await startServer({ flows: [flow], port: 0, token });
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(guarded.url);
      await tab.waitForSelector("[data-testid=token-form]");
      // Without the token the page shows nothing of the server: not where its store lies.
      expect(await tab.locator("body").textContent()).not.toContain(temp.path);
      await tab.fill("[data-testid=token-form] input[name=token]", token);
      await tab.click("[data-testid=token-form] button[type=submit]");
      await tab.waitForSelector("[data-testid=job-row]");
      await tab.waitForSelector("[data-testid=live]:has-text('live')");
      expect(await tab.locator("[data-testid=token-form]").count()).toBe(0);
      expect(await tab.locator("header .store").textContent()).toContain(temp.path);
    } finally {
      await context.close();
      await guarded.close();
    }
  });
});
