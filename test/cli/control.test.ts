// The command line's edges, in this process: a job another process changes meanwhile, text with
// terminal escapes, init onto a file, and the small things each command accepts or says.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flow, SqliteJobStore, loadFlowFile } from "../../src/index.js";
import { carryOn } from "../../src/cli/commands/jobs-carry.js";
import { Cli } from "../../src/cli/context.js";
import { escapeControls } from "../../src/cli/text.js";
import { FIXTURES, ROUTINES, inProcess, jsonLines, resultOf, routilux, tempDir } from "./helpers.js";

const fixture = (name: string): string => join(FIXTURES, name);
const ESC = "\u001b";

/** A Cli off a terminal whose output is kept. */
function capturedCli(): { cli: Cli; stdout: () => string; stderr: () => string } {
  let stdout = "";
  let stderr = "";
  const cli = new Cli({
    stdout: { write: (text: string) => ((stdout += text), true) } as unknown as NodeJS.WritableStream,
    stderr: { write: (text: string) => ((stderr += text), true) } as unknown as NodeJS.WritableStream,
    env: {},
  });
  return { cli, stdout: () => stdout, stderr: () => stderr };
}

describe("a job that another process changes while jobs resume takes it", { timeout: 60_000 }, () => {
  it("cancelled meanwhile: resume ends as the job did (exit 1, a result line), not on the store's refusal", async () => {
    const dir = await tempDir();
    const path = join(dir, "jobs.db");
    const store = new SqliteJobStore({ path });
    const flow = await loadFlowFile(fixture("slow.yaml"), undefined, { store });
    const job = await flow.start("begin", { entryParams: { n: 1 }, metadata: { flowFile: fixture("slow.yaml") } });
    await flow.pause(job, { reason: "for the test" });
    await flow.shutdown();
    await store.close();

    const { cli, stdout, stderr } = capturedCli();
    await carryOn(cli, job.jobId, { store: path }, "resume", async (resuming) => {
      // Another process cancels the paused job between this one's check and its resume.
      const other = new SqliteJobStore({ path });
      const control = new Flow({ flowId: "slow", store: other });
      await control.cancel(job.jobId, { reason: "not needed" });
      await control.shutdown();
      await other.close();
      await resuming.resume(job.jobId);
    });
    expect(cli.exitCode).toBe(1);
    expect(resultOf(stdout())).toMatchObject({ status: "cancelled", jobId: job.jobId, reason: "not needed" });
    expect(stderr()).toContain(`Job ${job.jobId} was cancelled in another process meanwhile.`);
    expect(stderr()).not.toMatch(/cannot change any more/);
  });
});

describe("control characters in text from handlers and stores", { timeout: 60_000 }, () => {
  it("run and jobs show print a handler's error with its escapes made visible; JSON keeps the text as it is", async () => {
    const dir = await tempDir();
    const store = ["--store", join(dir, "jobs.db")];
    const run = await routilux(["run", fixture("garbled.yaml"), "--routines", ROUTINES, ...store], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("TypeError: kaboom \\u001b[31mred\\u001b[0m \\u001b]0;title\\u0007");
    expect(run.stderr).not.toContain(ESC);
    const result = resultOf(run.stdout);
    expect(result).toMatchObject({ status: "failed", error: { message: `kaboom ${ESC}[31mred${ESC}[0m ${ESC}]0;title\u0007` } });
    const show = await inProcess(["jobs", "show", String(result.jobId), ...store]);
    expect(show.stdout).toContain("kaboom \\u001b[31mred");
    expect(show.stdout).not.toContain(ESC);
  });

  it("on a terminal the command line's own colors stay; everything else is escaped", () => {
    expect(escapeControls(`${ESC}[1mJob${ESC}[0m ${ESC}[2J${ESC}]0;t\u0007\r\tok\n`, true)).toBe(`${ESC}[1mJob${ESC}[0m \\u001b[2J\\u001b]0;t\\u0007\\u000d\tok\n`);
    expect(escapeControls(`${ESC}[31mred`)).toBe("\\u001b[31mred");
  });
});

describe("init, validate, graph, pause and cancel", { timeout: 60_000 }, () => {
  it("init onto a file, or under one, is one line and exit 2", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "taken"), "a file");
    const [onFile, underFile] = await Promise.all([inProcess(["init", join(dir, "taken")]), inProcess(["init", join(dir, "taken", "sub")])]);
    expect(onFile).toMatchObject({ code: 2, stderr: `routilux: ${join(dir, "taken")} exists and is not a folder; choose another directory\n` });
    expect(underFile.code).toBe(2);
    expect(underFile.stderr).toMatch(new RegExp(`^routilux: Cannot write the project to ${join(dir, "taken", "sub")}: ENOTDIR.*\\n$`));
  });

  it("validate counts in words (1 routine); graph accepts --routines", async () => {
    const dir = await tempDir();
    const file = join(dir, "one.yaml");
    await writeFile(file, "flowId: one\nroutines:\n  m: { class: Mapper, config: { mapping: { n: data.n } } }\n");
    const [one, graph] = await Promise.all([inProcess(["validate", file]), inProcess(["graph", fixture("busy.yaml"), "--routines", ROUTINES])]);
    expect(one.stdout).toBe(`${file}: flow 'one' is valid (1 routine, 0 connections)\n`);
    expect(graph.code).toBe(0);
    expect(graph.stdout).toContain("flowchart LR");
  });

  it("jobs cancel without --reason records where it came from", async () => {
    const dir = await tempDir();
    const store = ["--store", join(dir, "jobs.db")];
    const run = await inProcess(["run", fixture("approve.yaml"), "--param", "topic=x", ...store]);
    const id = String(resultOf(run.stdout).jobId);
    expect((await inProcess(["jobs", "cancel", id, ...store])).code).toBe(0);
    const shown = JSON.parse((await inProcess(["jobs", "show", id, "--json", ...store])).stdout) as { result: Record<string, unknown> };
    expect(shown.result).toMatchObject({ status: "cancelled", reason: "routilux jobs cancel" });
  });
});

describe("--routines imports exactly the file named", { timeout: 60_000 }, () => {
  it("x.js, not the x.ts beside it; a module that is not ES is named as such", async () => {
    const dir = await tempDir();
    const module = (which: string): string =>
      `import { Routine } from "routilux";\nexport class Which extends Routine {\n  constructor() { super(); this.defineSlot("trigger", (d, ctx) => ctx.sendOutput("which", { file: "${which}" })); }\n}\n`;
    await mkdir(join(dir, "esm"));
    await mkdir(join(dir, "cjs"));
    for (const sub of ["esm", "cjs"]) {
      await writeFile(join(dir, sub, "x.js"), module("js"));
      await writeFile(join(dir, sub, "x.ts"), module("ts"));
      await writeFile(join(dir, sub, "flow.yaml"), "flowId: which\nroutines:\n  w: { class: Which }\n");
    }
    await writeFile(join(dir, "esm", "package.json"), '{ "type": "module" }\n');
    const [js, ts, cjs] = await Promise.all([
      routilux(["run", "flow.yaml", "--routines", "./x.js", "--memory"], join(dir, "esm")),
      routilux(["run", "flow.yaml", "--routines", "./x.ts", "--memory"], join(dir, "esm")),
      routilux(["run", "flow.yaml", "--routines", "./x.ts", "--memory"], join(dir, "cjs")),
    ]);
    expect(resultOf(js.stdout)).toMatchObject({ status: "completed", outputs: [{ data: { file: "js" } }] });
    expect(resultOf(ts.stdout)).toMatchObject({ status: "completed", outputs: [{ data: { file: "ts" } }] });
    expect(cjs.code).toBe(2);
    expect(cjs.stderr).toBe("routilux: Cannot import routine module './x.ts': it is loaded as CommonJS; it must be an ES module (.mjs/.mts, or \"type\": \"module\" in package.json)\n");
    expect(jsonLines(js.stdout).length).toBeGreaterThan(1);
  });
});
