// Spawning the real `routilux` bin (bin/routilux.js, which runs the sources through tsx) in a
// temporary directory, as a user would from a shell.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BIN = join(ROOT, "bin", "routilux.js");
export const FIXTURES = join(ROOT, "test", "fixtures", "cli");
export const ROUTINES = join(FIXTURES, "routines.mjs");

/** A finished command: its exit code and what it wrote. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command still running: its process, its output so far, and a way to wait for a line. */
export interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<Ran>;
  /** Resolves with the first line of standard output or error that matches. */
  line(pattern: RegExp): Promise<string>;
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A new empty directory, removed after the file's tests. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "routilux-cli-"));
  dirs.push(dir);
  return dir;
}

/** Starts `routilux ...args` in `cwd`, off a terminal. */
export function start(args: readonly string[], cwd: string, env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const watchers: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const check = (): void => {
    for (const watcher of [...watchers]) {
      const line = `${stdout}\n${stderr}`.split("\n").find((l) => watcher.pattern.test(l));
      if (line !== undefined) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(line);
      }
    }
  };
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    check();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    check();
  });
  const done = new Promise<Ran>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child,
    done,
    line(pattern) {
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        check();
        void done.then((ran) => reject(new Error(`routilux ${args.join(" ")} exited (${ran.code}) before printing ${pattern}:\n${ran.stdout}\n${ran.stderr}`)));
      });
    },
  };
}

/** Runs `routilux ...args` in `cwd` to its end. */
export function routilux(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> {
  return start(args, cwd, env).done;
}

/** The JSON lines a command printed on standard output. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The `{"result": ...}` line of `run --json`. */
export function resultOf(stdout: string): Record<string, unknown> {
  const last = jsonLines(stdout).at(-1);
  if (last === undefined || typeof last.result !== "object") throw new Error(`no result line in:\n${stdout}`);
  return last.result as Record<string, unknown>;
}

/**
 * Runs the command line in this process (no spawn), off a terminal: for the many cases whose
 * spawned form would only repeat what a spawned test shows. Relative paths are the test process's
 * (the repository root): pass absolute ones, and `--store`.
 */
export async function inProcess(args: readonly string[]): Promise<Ran> {
  const { main } = await import("../../src/cli/main.js");
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: { write: (text: string) => ((stdout += text), true) } as unknown as NodeJS.WritableStream,
    stderr: { write: (text: string) => ((stderr += text), true) } as unknown as NodeJS.WritableStream,
    env: {},
  });
  return { code, stdout, stderr };
}
