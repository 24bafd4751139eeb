// Runs every examples/*.ts as a real process (as a user would, with tsx) and checks its exit code
// and a few key lines of its output, so that no example rots when the library changes. Each runs
// in a fresh temporary working directory, so what an example writes there (a store's
// ./.routilux/jobs.db) starts empty and is removed afterwards.
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const examplesDir = join(root, "examples");
/** Generous: only a hung example should reach it; on a busy 2-CPU machine one takes a few seconds. */
const PER_FILE_TIMEOUT_MS = 60_000;
/** tsx's loader by absolute URL, since the child's working directory is not the project. */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** A check of the whole output, named for the failure message. */
interface OutputCheck {
  name: string;
  check: (lines: string[]) => boolean;
}

/** Lines (exact, or a pattern for a line) that each example must print, or checks of its output. */
const EXPECTED: Record<string, Array<string | RegExp | OutputCheck>> = {
  "01-create-job-state.ts": [
    "Status on return: running",
    /^Job ID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    "Status: completed",
    "Flow ID: my_flow",
  ],
  "02-multiple-executions.ts": [
    "Execution 1 history: 3 records",
    "Execution 3 history: 3 records",
    'Execution 2 emitted: {"data":"B"} (completed)',
  ],
  "03-execution-history.ts": [
    "Total records: 3",
    "Source records: 2",
    /^\d{4}-\d\d-\d\dT[\d:.]+Z: source -> start$/,
    /^\d{4}-\d\d-\d\dT[\d:.]+Z: source -> output$/,
    '  Data: {"data":"test"}',
    /^\d{4}-\d\d-\d\dT[\d:.]+Z: my_flow -> completed$/,
  ],
  "04-routine-states.ts": [
    "Source status: completed",
    'Updated state: {"status":"completed","executionTimeMs":500,"customField":"value"}',
    "State of a routine that never ran: undefined",
  ],
  "05-execution-context.ts": [
    'Job A: last_item=apple, processor state={"processed":true,"status":"completed"}',
    'Job B: last_item=banana, processor state={"processed":true,"status":"completed"}',
    "Context outside a job: undefined",
    /^sendOutput outside a job: RoutiluxError: sendOutput\(\) was called on routine Processor .* outside a job/,
  ],
  "06-shared-data.ts": [
    'Job 1 shared data: {"items":["a","b","c"],"count":3}',
    'Job 2 shared data: {"items":["x"],"count":1}',
    "Missing key with default: n/a",
  ],
  "07-shared-log.ts": ["Total log entries: 1", "Total log entries: 3", "log: process second", "Serialized sharedLog entries: 3"],
  "08-send-output.ts": [
    'queue: processor user_data {"message":"Processing","value":42}',
    'queue: processor status {"progress":50,"status":"in_progress"}',
    'callback: processor user_data {"message":"Processing","value":7}',
    "null handler: outputLog has 2 entries: user_data, status",
  ],
  "09-deferred-events.ts": [
    "Status: paused",
    "Pause reason: Waiting for user input",
    'Deferred event: ask.user_input_required {"question":"What is your name?"}',
    "Status: completed",
    "Deferred events left: 0",
    'Output: reply {"question":"What is your name?","text":"Hello, Ada!"}',
    "Waiting for ask.name: What is your name?",
    "Refused: ValidationError",
    'Answered: completed, {"text":"Hello, Ada!"}',
  ],
  "10-status-transitions.ts": [
    "New JobState: pending",
    "Initial status: running",
    "Final status: completed",
    "Routine worker failed: upstream service unavailable",
    "CONTINUE: status=completed, worker=error_continued, error records=1",
    "SKIP: status=completed, worker=skipped, error records=1",
    "After pause: paused",
    "After resume and wait: completed",
    "After cancel: cancelled",
  ],
  "11-pause-resume-cancel.ts": [
    "Paused: status=paused, steps done: step1, step2",
    "Pending tasks: step3.input",
    "Sibling: status=completed, steps done: step1, step2, step3",
    "Still paused: paused",
    "resume() returned the same JobState: true",
    "Resumed: status=completed, steps done: step1, step2, step3",
    "Cancelled: status=cancelled, steps done: none",
  ],
  "12-serialization.ts": [
    "Paused: paused, pending: sum.input",
    "Loaded: job with the same id, status paused",
    "Resumed: completed, total=60",
    "save()/load() round trip: completed, outputs: status, result",
    "Rejected: SerializationError at 'status'; job still completed",
  ],
  "13-concurrent-executions.ts": [
    "Scenario 1: A completed, B completed",
    "Scenario 2: 5 unique jobs, peak concurrent handlers 5",
    "maxWorkers=3: peak concurrent handlers 3 across 10 jobs",
    "  All tasks: completed",
  ],
  "14-isolation.ts": [
    "JobState 1 routines: {s1, p1, isolation_test}",
    "JobState 2 routines: {s2, p2, isolation_test}",
    "Concurrent JobState 1 routines: {s1, p1, isolation_test}",
    "The worker ran: s1(job 1), s2(job 2), p1(job 1), p2(job 2)",
  ],
  "15-best-practices.ts": [
    "2. progress: batch 2 at 100%",
    "2. Execution successful!",
    "2. Waited 10 ms: rested=false, status=running",
    /^3\. 10 executions: 3 paused \(batch 0 needs approval; batch 4 needs approval; batch 8 needs approval\)$/,
    "3. After approval: completed, progress outputs per job: 4 4 4 4 4 4 4 4 4 4",
    "4. Two executions, two JobStates: first completed, second cancelled",
  ],
  "16-cross-host.ts": [
    /^\[host-a\] job [0-9a-f-]{36} paused: Transfer to Host B$/,
    "[host-a] ran here: extract",
    "[host-a] pending: count.input",
    "[host-b] rebuilt flow word-report: extract, count, report; error strategy of count: retry",
    /^\[host-b\] loaded job [0-9a-f-]{36} paused, config came along: top=2$/,
    /^\[host-b\] job [0-9a-f-]{36} completed$/,
    "[host-b] top words: flows:3, jobs:3",
    "[host-b] shared log: extract@host-a, count@host-b, report@host-b",
    {
      name: "the same job id on both hosts",
      check: (lines) => {
        const ids = lines.map((line) => /\bjob ([0-9a-f-]{36})\b/.exec(line)?.[1]).filter((id) => id !== undefined);
        return ids.length >= 3 && new Set(ids).size === 1;
      },
    },
  ],
  "demo.ts": [
    /^job is paused, waiting for review\.decision: "Publish 4 classified documents\?"$/,
    'the reviewer finds it in the store: paused, waiting for ["review.decision"]',
    /^a malformed decision is refused, and the job keeps waiting: .* at 'approve'/,
    /^ {2}status: +completed \(went through running -> paused -> running -> completed\)$/,
    /^ {2}in the store: +completed, 22 history records/,
  ],
  "typed-pipeline.ts": [
    'report: {"url":"https://example.com","words":18,"first":"Routilux runs flows of routines."}',
    'Shared data: {"words":18}',
    "Second job: completed, words=18",
  ],
};

interface Run {
  code: number | string | null;
  stdout: string;
  stderr: string;
}

/** Runs one example with tsx in a child process, in a temporary working directory. */
async function runExample(file: string): Promise<Run> {
  const cwd = await mkdtemp(join(tmpdir(), "routilux-examples-"));
  try {
    return await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        ["--import", tsxLoader, join(examplesDir, file)],
        { cwd, timeout: PER_FILE_TIMEOUT_MS, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : (error.code ?? error.signal ?? "error");
          resolve({ code, stdout, stderr });
        },
      );
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

const files = readdirSync(examplesDir).filter((name) => name.endsWith(".ts")).sort();

describe("examples", () => {
  it("every numbered example has expected output lines here", () => {
    const numbered = files.filter((name) => /^\d\d-/.test(name));
    expect(numbered.filter((name) => EXPECTED[name] === undefined)).toEqual([]);
    expect(numbered.length).toBeGreaterThanOrEqual(16);
  });

  describe.concurrent("each runs and prints what the guide shows", () => {
    for (const file of files) {
      it(file, async () => {
        const run = await runExample(file);
        const context = `${file} exited with ${String(run.code)}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
        expect(run.code, context).toBe(0);
        const lines = run.stdout.split("\n");
        for (const expected of EXPECTED[file] ?? []) {
          if (typeof expected === "string") {
            expect(lines.includes(expected), `${file} should print ${expected}\n${context}`).toBe(true);
          } else if (expected instanceof RegExp) {
            expect(lines.some((line) => expected.test(line)), `${file} should print ${String(expected)}\n${context}`).toBe(true);
          } else {
            expect(expected.check(lines), `${file}: ${expected.name}\n${context}`).toBe(true);
          }
        }
      }, PER_FILE_TIMEOUT_MS + 5_000);
    }
  });
});
