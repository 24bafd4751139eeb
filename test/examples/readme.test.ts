// The README's quick start is code a newcomer copies first: run it as written (with the package
// import pointed at the sources) and check what the README says it prints.
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

it("the README's quick start runs and prints what the README says", async () => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const block = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, "README.md has a ts block under '## Quick start'").toBeDefined();
  // Run it against the sources: the same module graph the package exports, without a build.
  const code = block!.replace('from "routilux"', 'from "../src/index.js"');
  await mkdir(join(root, ".tmp"), { recursive: true });
  const file = join(root, ".tmp", `readme-quick-start-${process.pid}.ts`);
  await writeFile(file, code);
  try {
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--import", "tsx", file], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout));
    });
    expect(output).toContain("completed\n3\n");
    expect(output).toContain("'word-count -> completed'");
    expect(output).toMatch(/'fetch -> start',\s+'fetch -> fetched',\s+'count -> counted'/);
  } finally {
    await rm(file, { force: true });
  }
});

it("the README's command-line session runs as written in the repository, with npx", { timeout: 120_000 }, async () => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const block = /## Command line\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, "README.md has a sh block under '## Command line'").toBeDefined();
  // In a folder of the clone, as a reader would type it (npx finds the package's own bin).
  const dir = join(root, ".tmp", `readme-cli-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const output = await new Promise<string>((resolve, reject) => {
      execFile("bash", ["-ec", block!], { cwd: dir, timeout: 110_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout));
    });
    expect(output).toContain("flow 'hello' is valid (3 routines, 2 connections)");
    expect(output).toMatch(/\{"result":\{"status":"completed".*"data":\{"text":"Hello, Ada!"\}/);
    expect(output).toMatch(/^[0-9a-f-]{36} {2}hello {2}completed /m);
    expect(output).toContain('r0_greet -- "greeted → input" --> r1_shout');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
