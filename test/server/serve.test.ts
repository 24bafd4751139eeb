// `routilux serve` as a user runs it: the real bin in a child process, serving a folder of flow
// files, stopped with Ctrl-C (SIGINT).
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, ROUTINES, routilux, start, tempDir } from "../cli/helpers.js";

describe("routilux serve", () => {
  it("serves the flow files of a folder and the dashboard, prints the address, and stops on Ctrl-C with exit code 0", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "flows"));
    await copyFile(join(FIXTURES, "quick.yaml"), join(dir, "flows", "quick.yaml"));
    await copyFile(join(FIXTURES, "approve.yaml"), join(dir, "flows", "approve.yaml"));
    const serve = start(["serve", "--flows-dir", "flows", "--port", "0", "--routines", ROUTINES], dir);
    const line = await serve.line(/^routilux dashboard: http:\/\/127\.0\.0\.1:\d+\/$/);
    const url = line.replace("routilux dashboard: ", "");
    const flows = (await (await fetch(`${url}api/flows`)).json()) as { flows: Array<{ flowId: string }> };
    expect(flows.flows.map((f) => f.flowId).sort()).toEqual(["approval", "quick"]);
    expect((await fetch(url)).headers.get("content-type")).toContain("text/html");
    serve.child.kill("SIGINT");
    const done = await serve.done;
    expect(done.code, done.stderr).toBe(0);
  }, 60_000);

  it("refuses to listen off loopback without a token, and a bad port, with exit code 2", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "flows"));
    await copyFile(join(FIXTURES, "quick.yaml"), join(dir, "flows", "quick.yaml"));
    const open = await routilux(["serve", "--flows-dir", "flows", "--host", "0.0.0.0", "--port", "0", "--routines", ROUTINES], dir);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain("token");
    const port = await routilux(["serve", "--flows-dir", "flows", "--port", "eighty"], dir);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("--port");
  }, 60_000);
});
