// The command line as a user meets it: each command run as the real bin, its output and exit
// code, and one clear line (exit 2) for each kind of bad input.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, ROUTINES, inProcess, jsonLines, resultOf, routilux, tempDir } from "./helpers.js";

const fixture = (name: string): string => join(FIXTURES, name);
const ESC = "\u001b[";

describe("routilux --help", { timeout: 90_000 }, () => {
  it("the bin prints its commands, the exit codes and examples", async () => {
    const dir = await tempDir();
    const [help, none, version] = await Promise.all([routilux(["--help"], dir), routilux([], dir), inProcess(["--version"])]);
    expect(help.code).toBe(0);
    for (const command of ["init", "run", "validate", "graph", "jobs", "recover"]) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    expect(help.stdout).toContain("Exit codes: 0 completed, 1 failed or cancelled, 2 bad usage or input, 3 paused");
    const flat = help.stdout.replace(/\s+/g, " ");
    expect(flat).toContain("3 paused (waiting), 130 a second Ctrl-C stopped at once and left the job running");
    expect(flat).toContain('{"error": {"message", "exitCode"}} as its last line');
    expect(flat).toContain('An event\'s "seq" counts the job\'s events in this process: it starts at 1 again when another process carries the job on');
    expect(help.stdout).not.toContain(ESC);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage: routilux");
    expect(version.stdout.trim()).toBe(JSON.parse(await readFile(join(FIXTURES, "..", "..", "..", "package.json"), "utf8")).version);
  });

  it.each([
    "init", "run", "validate", "graph", "jobs", "jobs list", "jobs show", "jobs pause", "jobs resume", "jobs cancel", "jobs answer", "jobs delete", "recover",
  ])("routilux %s --help has an example", async (command) => {
    const { code, stdout } = await inProcess([...command.split(" "), "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Examples?:\n {2}\$ routilux /);
  });

  it("--routines says it takes JavaScript, or TypeScript under a loader such as tsx", async () => {
    const { stdout } = await inProcess(["run", "--help"]);
    expect(stdout.replace(/\s+/g, " ")).toContain("JavaScript, or TypeScript under a loader such as tsx");
  });
});

describe("routilux init and run", { timeout: 90_000 }, () => {
  it("init writes a project whose README line runs it: completed, exit 0, one JSON line per event off a terminal", async () => {
    const dir = await tempDir();
    const init = await routilux(["init", "hello"], dir);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain("npx routilux run flow.yaml --routines ./routines.mjs --param name=Ada");
    const readme = await readFile(join(dir, "hello", "README.md"), "utf8");
    const line = /`npx routilux (run [^`]+)`/.exec(readme)![1]!;
    const run = await routilux(line.split(" "), join(dir, "hello"));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(ESC);
    const lines = jsonLines(run.stdout);
    expect(lines[0]).toMatchObject({ seq: 1, type: "status", status: "running", flowId: "hello" });
    expect(lines.slice(0, -1).map((l) => l.seq)).toEqual(lines.slice(0, -1).map((_, i) => i + 1));
    expect(lines.at(-2)).toMatchObject({ type: "status", status: "completed" });
    expect(resultOf(run.stdout)).toMatchObject({ status: "completed", sharedData: { message: "Hello, Ada!" } });
    // The job is in the default store, with the flow file recorded.
    const list = await routilux(["jobs", "list", "--json"], join(dir, "hello"));
    const { jobs, nextCursor } = JSON.parse(list.stdout) as { jobs: Array<Record<string, unknown>>; nextCursor: unknown };
    expect(nextCursor).toBeNull();
    expect(jobs).toEqual([expect.objectContaining({ jobId: lines[0]!.jobId, status: "completed", metadata: expect.objectContaining({ flowFile: join(dir, "hello", "flow.yaml") }) })]);
    // A second init there refuses to overwrite.
    const again = await inProcess(["init", join(dir, "hello")]);
    expect(again.code).toBe(2);
    const refusal = "flow.yaml, routines.mjs, README.md already exist in";
    expect(again.stderr).toMatch(new RegExp(`^routilux: ${refusal.replaceAll(".", "\\.")} .*; choose another directory or pass --force\n$`));
  });

  it("params come from --params and --param (JSON values, else text); --memory stores nothing; a failed job exits 1, its error named", async () => {
    const dir = await tempDir();
    const [params, failed, typed] = await Promise.all([
      routilux(["run", fixture("typed.json"), "--routines", fixture("typed-routines.ts"), "--memory", "--params", '{"a": 1, "b": "x"}', "--param", "b=[1,2]", "--param", "c=text"], dir),
      routilux(["run", fixture("fails.yaml"), "--routines", ROUTINES, "--entry", "breaks", "--json"], dir),
      routilux(["run", fixture("retries.yaml"), "--routines", ROUTINES, "--param", "n=5"], dir),
    ]);
    expect(params.code).toBe(0);
    expect(resultOf(params.stdout)).toMatchObject({ status: "completed", outputs: [{ data: { typed: true, a: 1, b: [1, 2], c: "text" } }] });
    expect(failed.code).toBe(1);
    expect(resultOf(failed.stdout)).toMatchObject({ status: "failed", error: { routineId: "breaks", errorType: "TypeError", message: "cannot read the input" } });
    expect(failed.stderr).toContain("failed in routine 'breaks': TypeError: cannot read the input");
    expect(typed.code).toBe(0);
    const retries = jsonLines(typed.stdout).filter((l) => (l.record as { eventName?: string } | undefined)?.eventName === "retry");
    expect(retries).toHaveLength(1);
    const list = await inProcess(["jobs", "list", "--json", "--store", join(dir, ".routilux", "jobs.db")]);
    expect((JSON.parse(list.stdout) as { jobs: unknown[] }).jobs).toHaveLength(2); // not the --memory one
  });

  it("a job that waits for input exits 3 and says how to answer; jobs answer checks the answer, then carries the job on here", async () => {
    const dir = await tempDir();
    const run = await routilux(["run", fixture("approve.yaml"), "--param", "topic=cats"], dir);
    expect(run.code).toBe(3);
    const result = resultOf(run.stdout);
    expect(result).toMatchObject({ status: "paused", waitingFor: [{ routineId: "approve", slotName: "answer", prompt: "Publish it?" }] });
    const id = String(result.jobId);
    expect(run.stderr).toContain(`routilux jobs answer ${id} --routine approve --slot answer --data '{...}'`);
    const store = ["--store", join(dir, ".routilux", "jobs.db")];
    const [show, list] = await Promise.all([inProcess(["jobs", "show", id, ...store]), inProcess(["jobs", "list", "--status", "paused", ...store])]);
    expect(show.stdout).toMatch(new RegExp(`^Job ${id}  paused$`, "m"));
    expect(show.stdout).toContain("approve.answer: Publish it?");
    expect(show.stdout).toMatch(/^ {2}draft +completed/m);
    expect(show.stdout).toMatch(/History \(\d+ records\)\n {2}AT +ROUTINE +EVENT +DATA\n {2}\+\d+ ms +draft +start +\{"topic":"cats"\}/);
    expect(list.stdout).toMatch(new RegExp(`^${id}  approval  paused .*approve\\.answer$`, "m"));
    const wrong = await routilux(["jobs", "answer", id, "--data", '{"ok": "yes"}'], dir);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^routilux: the answer to 'approve\.answer' of job '.*' does not fit its schema at 'ok'.*\n$/);
    const answered = await routilux(["jobs", "answer", id, "--routine", "approve", "--slot", "answer", "--data", '{"ok": true}'], dir);
    expect(answered.code).toBe(0);
    expect(resultOf(answered.stdout)).toMatchObject({ status: "completed", jobId: id });
    const shown = JSON.parse((await inProcess(["jobs", "show", id, "--json", ...store])).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ jobId: id, status: "completed", waitingFor: [], routineStates: { publish: { status: "completed" } }, result: { status: "completed" } });
    expect((shown.history as Array<{ eventName: string }>).map((r) => r.eventName)).toContain("passed");
    const late = await inProcess(["jobs", "answer", id, "--data", "{}", ...store]);
    expect(late.code).toBe(2);
    expect(late.stderr).toBe(`routilux: Cannot answer job ${id}: it has completed\n`);
  });
});

describe("routilux validate and graph", { timeout: 90_000 }, () => {
  it("validate lists every problem with file, line and column, exit 2; a valid file exits 0", async () => {
    const dir = await tempDir();
    const broken = fixture("broken.yaml");
    const [bad, json, unknown, good] = await Promise.all([
      routilux(["validate", broken], dir),
      inProcess(["validate", broken, "--json"]),
      inProcess(["validate", fixture("fails.yaml")]),
      routilux(["validate", fixture("fails.yaml"), "--routines", ROUTINES], dir),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual([
      `${broken}:4:6: routines.b.class: required field is missing (expected string)`,
      expect.stringMatching(new RegExp(`^${broken}:4:8: routines\\.b\\.clas: unknown field 'clas'`)),
      expect.stringMatching(new RegExp(`^${broken}:6:27: connections\\[0\\]\\.to: unknown routine 'c'`)),
      expect.stringMatching(new RegExp(`^${broken}:7:13: connections\\[1\\]\\.from: expected 'routineId\\.eventName'`)),
      `${broken}: 4 problems`,
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, issueCount: 4, issues: [{ path: "routines.b.class", line: 4, column: 6 }, {}, {}, {}] });
    expect(json.code).toBe(2);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/fails\.yaml:3:19: routines\.flaky\.class: unknown routine class 'Flaky'/);
    expect(good.code).toBe(0);
    expect(good.stdout).toBe(`${fixture("fails.yaml")}: flow 'fails' is valid (2 routines, 0 connections)\n`);
  });

  it("graph draws Mermaid and DOT from the file, connections labelled event → slot", async () => {
    const dir = await tempDir();
    const [mermaid, dot, bad] = await Promise.all([
      routilux(["graph", fixture("approve.yaml")], dir),
      inProcess(["graph", fixture("approve.yaml"), "--format", "dot"]),
      inProcess(["graph", fixture("approve.yaml"), "--format", "svg"]),
    ]);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toBe([
      "flowchart LR",
      '  r0_draft["draft<br/><small>Mapper</small>"]',
      '  r1_approve["approve<br/><small>HumanInput</small>"]',
      '  r2_publish["publish<br/><small>Filter</small>"]',
      '  r0_draft -- "output → input" --> r1_approve',
      '  r1_approve -- "answered → input" --> r2_publish',
      "",
    ].join("\n"));
    expect(dot.stdout).toContain('digraph "approval" {');
    expect(dot.stdout).toContain('"approve" [label="approve\\nHumanInput"];');
    expect(dot.stdout).toContain('"draft" -> "approve" [label="output → input"];');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("routilux: --format expects mermaid or dot, got 'svg'\n");
  });
});

describe("bad input is one line and exit 2, with no stack trace unless --verbose", { timeout: 90_000 }, () => {
  it("files, params, options, job ids and stores", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "empty.db"), "not a database, just text");
    // [arguments, the message, whether to spawn the bin (the others run in this process)]
    const cases: Array<[string[], RegExp, boolean]> = [
      [["run", "missing.yaml"], /^routilux: Flow file not found: 'missing\.yaml'/, true],
      [["run", fixture("approve.yaml"), "--params", "{not json"], /^routilux: --params is not valid JSON/, true],
      [["run", fixture("approve.yaml"), "--bogus"], /^routilux: unknown option '--bogus'/, true],
      [["jobs", "show", "no-such-job"], /^routilux: No job store at '.*jobs\.db': run a flow first/, true],
      [["run", fixture("approve.yaml"), "--params", "[1]"], /^routilux: --params must be a JSON object/, false],
      [["run", fixture("approve.yaml"), "--param", "novalue"], /^routilux: --param expects key=value/, false],
      [["run", fixture("approve.yaml"), "--timeout", "soon"], /^routilux: --timeout expects a positive number of milliseconds, got 'soon'/, false],
      [["run", fixture("approve.yaml"), "--memory", "--entry", "nope"], /^routilux: --entry 'nope' is not a routine of flow 'approval'; its routines are: draft, approve, publish/, false],
      [["run", fixture("approve.yaml"), "--memory", "--routines", "./nowhere.mjs"], /^routilux: Routine module not found: '\.\/nowhere\.mjs'/, false],
      [["run", fixture("fails.yaml"), "--memory"], /^routilux: Invalid flow file .*\n.*unknown routine class 'Flaky'[^]*\nRoutine classes other than the built-ins come from --routines <module>/, false],
      [["run", fixture("fails.yaml"), "--routines", ROUTINES, "--memory"], /^routilux: Flow 'fails' could start at 'flaky' or 'breaks'; choose one with --entry <id>/, true],
      [["run", fixture("approve.yaml"), "--memory", "--store", join(dir, "x.db")], /^routilux: --memory and --store exclude each other/, false],
      [["jobs", "list", "--store", join(dir, "empty.db")], /^routilux: Cannot open the job store '.*empty\.db'/, false],
      [["jobs", "list", "--store", join(dir, "none.db")], /^routilux: No job store at '.*none\.db': check the --store path/, false],
      [["jobs", "frobnicate"], /^routilux: unknown command 'frobnicate'/, false],
      [["graph", join(dir, "nothing.yaml")], /^routilux: Flow file not found/, false],
    ];
    const results = await Promise.all(cases.map(([args, , spawned]) => (spawned ? routilux(args, dir) : inProcess(args))));
    results.forEach((ran, i) => {
      const [args, pattern] = cases[i]!;
      expect(ran.code, args.join(" ")).toBe(2);
      expect(ran.stderr, args.join(" ")).toMatch(pattern);
      expect(ran.stderr, args.join(" ")).not.toMatch(/\n {4}at /);
    });
    const verbose = await routilux(["run", "missing.yaml", "--verbose"], dir);
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toMatch(/\n {4}at /);
  });

  it("unknown job ids in a store, and jobs that cannot take the command", async () => {
    const dir = await tempDir();
    const store = ["--store", join(dir, "jobs.db")];
    const run = await inProcess(["run", fixture("quick.yaml"), "--param", "n=2", ...store]);
    const id = String(resultOf(run.stdout).jobId);
    const spawned = await routilux(["jobs", "show", "nope", ...store], dir);
    expect(spawned.code).toBe(2);
    expect(spawned.stderr).toMatch(/^routilux: No job 'nope' in SQLite job store '.*'; list the jobs with: routilux jobs list\n$/);
    const cases: Array<[string[], RegExp]> = [
      [["jobs", "resume", "nope"], /^routilux: No job 'nope'/],
      [["jobs", "pause", "nope"], /^routilux: No job 'nope'/],
      [["jobs", "cancel", "nope"], /^routilux: No job 'nope'/],
      [["jobs", "delete", "nope"], /^routilux: No job 'nope'/],
      [["jobs", "answer", "nope", "--data", "{}"], /^routilux: No job 'nope'/],
      [["jobs", "resume", id], new RegExp(`^routilux: Cannot resume job ${id}: it has completed\\n$`)],
      [["jobs", "cancel", id], new RegExp(`^routilux: Cannot cancel job ${id}: it has completed\\n$`)],
      [["jobs", "pause", id], new RegExp(`^routilux: Cannot pause job ${id}: it has completed\\n$`)],
      [["jobs", "answer", id, "--data", "[]"], /^routilux: --data must be a JSON object/],
      [["jobs", "list", "--status", "done"], /^routilux: --status expects one of pending, running, paused, completed, failed, cancelled; got 'done'/],
      [["jobs", "list", "--limit", "0"], /^routilux: --limit expects a whole number from 1 up, got '0'/],
    ];
    for (const [args, pattern] of cases) {
      const ran = await inProcess([...args, ...store]);
      expect(ran.code, args.join(" ")).toBe(2);
      expect(ran.stderr, args.join(" ")).toMatch(pattern);
    }
    const deleted = await inProcess(["jobs", "delete", id, ...store]);
    expect(deleted).toMatchObject({ code: 0, stdout: `Deleted job ${id}.\n` });
    expect((await inProcess(["jobs", "show", id, ...store])).code).toBe(2);
  });
});

describe("routilux jobs list", { timeout: 90_000 }, () => {
  it("filters by status and flow, pages with --cursor, and prints a table", async () => {
    const dir = await tempDir();
    const store = ["--store", join(dir, "jobs.db")];
    const runs = [];
    for (const args of [["run", fixture("quick.yaml"), "--param", "n=1"], ["run", fixture("approve.yaml"), "--param", "topic=a"], ["run", fixture("approve.yaml"), "--param", "topic=b"]]) {
      runs.push(await inProcess([...args, ...store]));
    }
    expect(runs.map((r) => r.code)).toEqual([0, 3, 3]);
    const paused = await inProcess(["jobs", "list", "--status", "paused", "--json", ...store]);
    expect((JSON.parse(paused.stdout) as { jobs: Array<{ status: string }> }).jobs.map((j) => j.status)).toEqual(["paused", "paused"]);
    const first = JSON.parse((await inProcess(["jobs", "list", "--limit", "2", "--json", ...store])).stdout) as { jobs: Array<{ jobId: string }>; nextCursor: string };
    expect(first.jobs).toHaveLength(2);
    const page2 = JSON.parse((await inProcess(["jobs", "list", "--limit", "2", "--json", "--cursor", first.nextCursor, ...store])).stdout) as typeof first;
    expect(page2.jobs).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    const more = await inProcess(["jobs", "list", "--limit", "2", ...store]);
    expect(more.stdout).toContain(`More: routilux jobs list --cursor ${first.nextCursor} --store`);
    const table = await routilux(["jobs", "list", "--flow-id", "approval", ...store], dir);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^JOB ID +FLOW +STATUS +CREATED +UPDATED +WAITING FOR$/);
    expect(lines.slice(1)).toHaveLength(2);
    const row = /^[0-9a-f-]{36} {2}approval {2}paused {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}.* {2}approve\.answer$/;
    for (const line of lines.slice(1)) expect(line).toMatch(row);
    const none = await inProcess(["jobs", "list", "--status", "failed", ...store]);
    expect(none).toMatchObject({ code: 0, stdout: expect.stringMatching(/^No jobs in SQLite job store '.*' that match\.\n$/) });
  });
});
