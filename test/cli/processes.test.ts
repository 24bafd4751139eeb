// The command line across processes: the live view on a pseudo-terminal, Ctrl-C then resume in a
// second process, control from another process while a job runs, a second Ctrl-C, and recover
// after a crash.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, FIXTURES, ROUTINES, jsonLines, resultOf, routilux, start, tempDir } from "./helpers.js";

const fixture = (name: string): string => join(FIXTURES, name);
const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;
const ESC = "\u001b";
/** The text of a terminal's output, without its ANSI sequences. */
const plainText = (output: string): string => output.replace(new RegExp(`${ESC}\\[[0-9;]*[A-Za-z]`, "g"), "");

/** Runs `routilux ...args` on a pseudo-terminal (`script`), with its exit code (`-e`). */
function onTerminal(args: readonly string[], cwd: string): Promise<{ code: number; output: string }> {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    execFile("script", ["-qec", command, "/dev/null"], { cwd, env: { ...process.env, TERM: "xterm", COLUMNS: "100" }, timeout: 60_000 },
      (error, stdout) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : undefined;
        if (code === undefined) reject(error ?? new Error("no exit code"));
        else resolve({ code, output: stdout });
      });
  });
}

/** The id of the job in a `run` process's first JSON line. */
async function jobIdOf(run: ReturnType<typeof start>): Promise<string> {
  const line = await run.line(/"type":"status","status":"running"/);
  return String((JSON.parse(line) as { jobId: string }).jobId);
}

describe("the live view on a terminal", { timeout: 90_000 }, () => {
  it("shows each routine with its status, tasks and retries, redrawn in place, and the outcome", async () => {
    const dir = await tempDir();
    const [retries, paused] = await Promise.all([
      onTerminal(["run", fixture("retries.yaml"), "--routines", ROUTINES], dir),
      onTerminal(["run", fixture("approve.yaml"), "--param", "topic=cats"], dir),
    ]);
    expect(retries.code).toBe(0);
    expect(retries.output).toContain(`${ESC}[`);
    expect(retries.output).toMatch(new RegExp(`${ESC}\\[\\d+A${ESC}\\[0J`)); // moves up and redraws
    const plain = plainText(retries.output);
    expect(plain).toMatch(/retries \(retries\.yaml\) {2}job [0-9a-f-]{36} {2}completed/);
    expect(plain).toMatch(/\+ flaky +completed +2 tasks, 1 retry, 1 error/);
    expect(plain).toMatch(/Job [0-9a-f-]{36} completed\./);
    expect(plain).not.toContain('{"seq"');
    expect(paused.code).toBe(3);
    const view = plainText(paused.output);
    expect(view).toMatch(/\+ draft +completed +1 task/);
    expect(view).toContain("It waits for input:");
    expect(view).toMatch(/answer with: routilux jobs answer [0-9a-f-]{36} --routine approve --slot answer --data '\{\.\.\.\}'/);
  });
});

describe("Ctrl-C and control from another process", { timeout: 90_000 }, () => {
  it("Ctrl-C pauses the job and stores it, naming it; jobs resume in a second process completes it", async () => {
    const dir = await tempDir();
    const run = start(["run", fixture("slow.yaml"), "--param", "n=21"], dir);
    const id = await jobIdOf(run);
    await run.line(/"routineId":"wait"/);
    run.child.kill("SIGINT");
    const stopped = await run.done;
    expect(stopped.code).toBe(3);
    expect(resultOf(stopped.stdout)).toMatchObject({ status: "paused", jobId: id, pausePoint: { reason: "interrupted" } });
    expect(stopped.stderr).toContain(`Resume it with: routilux jobs resume ${id}`);
    const resumed = await routilux(["jobs", "resume", id], dir);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const lines = jsonLines(resumed.stdout);
    expect(lines.some((l) => l.type === "routine" && l.routineId === "double")).toBe(true);
    expect(resultOf(resumed.stdout)).toMatchObject({ status: "completed", jobId: id });
    type Shown = { history: Array<{ eventName: string; data: Record<string, unknown> }> };
    const shown = JSON.parse((await routilux(["jobs", "show", id, "--json"], dir)).stdout) as Shown;
    expect(shown.history.map((r) => r.eventName)).toEqual(expect.arrayContaining(["paused", "resumed", "output", "completed"]));
    expect(shown.history.find((r) => r.eventName === "output" && r.data.n === 42)).toBeDefined();
  });

  it("while a job runs: jobs show sees it held, jobs pause pauses it there (exit 3), and jobs cancel cancels the resumed one there (exit 1)", async () => {
    const dir = await tempDir();
    const first = start(["run", fixture("hold.yaml"), "--param", "n=1"], dir);
    const id = await jobIdOf(first);
    const shown = JSON.parse((await routilux(["jobs", "show", id, "--json"], dir)).stdout) as { status: string; lease: { owner: string } | null };
    expect(shown.status).toBe("running");
    expect(shown.lease?.owner).toEqual(expect.any(String));
    const resumeRefused = await routilux(["jobs", "resume", id], dir);
    expect(resumeRefused.code).toBe(2);
    expect(resumeRefused.stderr).toBe(`routilux: Cannot resume job ${id}: it is running (in process ${shown.lease?.owner})\n`);
    const deleteRefused = await routilux(["jobs", "delete", id], dir);
    expect(deleteRefused.code).toBe(2);
    expect(deleteRefused.stderr).toContain(`Job ${id} is running in a live process; cancel it first`);
    const pause = await routilux(["jobs", "pause", id, "--reason", "maintenance"], dir);
    expect(pause).toMatchObject({ code: 0, stdout: `Paused job ${id}. Resume it with: routilux jobs resume ${id}\n` });
    const paused = await first.done;
    expect(paused.code).toBe(3);
    expect(resultOf(paused.stdout)).toMatchObject({ status: "paused", pausePoint: { reason: "maintenance" } });
    // Resumed in a second process, and cancelled from a third while it runs there.
    const second = start(["jobs", "resume", id], dir);
    await second.line(/"eventName":"resumed"/);
    const cancel = await routilux(["jobs", "cancel", id, "--reason", "not needed"], dir);
    expect(cancel).toMatchObject({ code: 0, stdout: `Cancelled job ${id}.\n` });
    const cancelled = await second.done;
    expect(cancelled.code).toBe(1);
    expect(resultOf(cancelled.stdout)).toMatchObject({ status: "cancelled", reason: "not needed" });
    expect(cancelled.stderr).toContain(`Job ${id} was cancelled: not needed.`);
  });

  it("a second Ctrl-C stops at once; a crashed run is carried on by routilux recover", async () => {
    const dir = await tempDir();
    const busy = ["run", fixture("busy.yaml"), "--routines", ROUTINES, "--param", "n=7"];
    const [twice, crashed] = [start(busy, dir), start(busy, dir)];
    const [twiceId, crashedId] = await Promise.all([jobIdOf(twice), jobIdOf(crashed)]);
    const busyRuns = /"routineId":"busy","state":\{"status":"running"/;
    await Promise.all([twice.line(busyRuns), crashed.line(busyRuns)]);
    crashed.child.kill("SIGKILL");
    twice.child.kill("SIGINT");
    await twice.line(/^Pausing job/);
    twice.child.kill("SIGINT");
    const stopped = await twice.done;
    expect(stopped.stderr).toContain(`Stopped at once: job ${twiceId} is paused in the store.`);
    expect(stopped.code).toBe(3);
    expect(resultOf(stopped.stdout)).toMatchObject({ status: "paused", jobId: twiceId }); // JSON output ends with its result
    await crashed.done;
    const list = JSON.parse((await routilux(["jobs", "list", "--status", "running", "--json"], dir)).stdout) as { jobs: Array<{ jobId: string }> };
    expect(list.jobs.map((j) => j.jobId)).toEqual([crashedId]);
    const pause = await routilux(["jobs", "pause", crashedId], dir);
    expect(pause.code).toBe(2);
    expect(pause.stderr).toBe(`routilux: Job ${crashedId} is running, but no live process holds it (its process stopped); carry it on with: routilux recover\n`);
    const recovered = await routilux(["recover"], dir);
    expect(recovered.code).toBe(0);
    expect(recovered.stderr).toContain(`Recovered job ${crashedId} (flow 'busy', ${fixture("busy.yaml")})`);
    expect(resultOf(recovered.stdout)).toMatchObject({ status: "completed", jobId: crashedId, outputs: [{ data: { n: 7 } }] });
    const again = await routilux(["recover"], dir);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stderr).toMatch(/^Nothing to recover: no job in SQLite job store '.*' is running without a live process\.\n$/);
  });

  it("a job deleted (--force) while it runs: its run ends with an {\"error\"} line naming that, exit 1", async () => {
    const dir = await tempDir();
    const run = start(["run", fixture("hold.yaml"), "--param", "n=1"], dir);
    const id = await jobIdOf(run);
    await run.line(/"routineId":"wait"/);
    expect(await routilux(["jobs", "delete", id, "--force"], dir)).toMatchObject({ code: 0 });
    const ended = await run.done;
    expect(ended.code).toBe(1);
    const message = `Job ${id} was deleted from the store while it ran (jobs delete --force); this process stopped it`;
    expect(jsonLines(ended.stdout).at(-1)).toEqual({ error: { message, exitCode: 1 } });
    expect(ended.stderr).toContain(`routilux: ${message}`);
  });

  it("a reader that stops reading (| head -1) does not end the job: it runs to its end, and the command exits with its outcome", async () => {
    const dir = await tempDir();
    const run = start(["run", fixture("slow.yaml"), "--param", "n=2"], dir);
    const id = await jobIdOf(run);
    run.child.stdout!.destroy();
    const ran = await run.done;
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe("");
    const shown = JSON.parse((await routilux(["jobs", "show", id, "--json"], dir)).stdout) as { status: string };
    expect(shown.status).toBe("completed");
  });
});
