// The command line's edges: init onto a file, --routines naming a file exactly, and the small
// things each command accepts or says.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, ROUTINES, inProcess, jsonLines, resultOf, routilux, tempDir } from "./helpers.js";

const fixture = (name: string): string => join(FIXTURES, name);

describe("init, validate and graph", { timeout: 60_000 }, () => {
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
