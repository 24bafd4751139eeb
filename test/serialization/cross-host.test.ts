import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Flow, JobState } from "../../src/index.js";
import { hitlRegistry } from "../fixtures/hitl-routines.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const fixtures = join(root, "test/fixtures");

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript script in a new Node process (`node --import tsx`), never rejecting. */
function runScript(script: string, args: string[]): Promise<Exit> {
  return new Promise((done) => {
    execFile(process.execPath, ["--import", "tsx", join(fixtures, script), ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      done({ code, stdout, stderr });
    });
  });
}

/** The last line of a process's output, as JSON. */
function lastJson(exit: Exit): Record<string, unknown> {
  const lines = exit.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1] ?? "") as Record<string, unknown>;
  } catch {
    throw new Error(`expected JSON output, got:\n${exit.stdout}\nstderr:\n${exit.stderr}`);
  }
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "routilux-cross-host-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a job paused on one host resumes on another", { timeout: 90_000 }, () => {
  it("process A pauses for input and writes both documents; process B rebuilds the flow, answers, resumes and completes it", async () => {
    const a = await runScript("host-a.ts", [dir, "u-42"]);
    expect(a.stderr).toBe("");
    expect(a.code).toBe(0);
    const fromA = lastJson(a);
    expect(fromA).toMatchObject({ host: "A", status: "paused", question: "What is your name?" });

    // What A left behind: two plain-JSON documents.
    const flowDoc = JSON.parse(await readFile(join(dir, "flow.json"), "utf8")) as Record<string, unknown>;
    const jobDoc = JSON.parse(await readFile(join(dir, "job.json"), "utf8")) as Record<string, unknown>;
    expect(flowDoc).toMatchObject({ kind: "routilux.flow", flowId: "cross-host" });
    expect(jobDoc).toMatchObject({ kind: "routilux.job", flowId: "cross-host", status: "paused", jobId: fromA.jobId });

    const b = await runScript("host-b.ts", [dir, "Ada"]);
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    const fromB = lastJson(b);
    expect(fromB.pid).not.toBe(fromA.pid);
    expect(fromB).toMatchObject({
      host: "B",
      rested: true,
      before: { status: "paused", deferred: 1, pending: ["collect"] },
      jobId: fromA.jobId,
      flowId: "cross-host",
      status: "completed",
      metadata: { host: "A", pid: fromA.pid },
      // Configuration ("Hi") came through the flow document; the answer came from B.
      greeting: "Hi, Ada! (asked: What is your name?)",
      // The append buffer of "collect" carried A's value across processes.
      collected: { question: ["What is your name?"], user: ["u-42"], line: ["Hi, Ada! (asked: What is your name?)"] },
      trace: [
        "intake -> start",
        "intake -> question",
        "ask -> paused",
        "cross-host -> resumed",
        "ask -> answered",
        "greet -> greeted",
        "cross-host -> completed",
      ],
    });
  });

  it("the documents process A wrote are read the same way in this process", async () => {
    const a = await runScript("host-a.ts", [dir, "u-7"]);
    expect(a.code).toBe(0);
    const flow = Flow.deserialize(JSON.parse(await readFile(join(dir, "flow.json"), "utf8")), hitlRegistry());
    const job = await JobState.load(join(dir, "job.json"));
    job.updateSharedData("answer", "Grace");
    flow.resume(job);
    expect(await JobState.waitForCompletion(flow, job, { timeoutMs: 5000 })).toBe(true);
    expect(job.status).toBe("completed");
    expect(job.getSharedData("greeting")).toBe("Hi, Grace! (asked: What is your name?)");
  });

  it("process B fails with a clear message when its registry lacks a routine class", async () => {
    const a = await runScript("host-a.ts", [dir, "u-1"]);
    expect(a.code).toBe(0);
    const b = await runScript("host-b.ts", [dir, "Ada", "--without", "Greeter"]);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain("unknown routine type 'Greeter'");
    expect(b.stderr).toContain("defaultRegistry.register(\"Greeter\", Greeter)");
  });
});
