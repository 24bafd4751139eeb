// What typed routines cost the compiler: a generated 50-routine typed flow (classes and
// defineRoutine steps, connected by handles) is checked by tsc --extendedDiagnostics in a child
// process against the library's declarations, as a user's code is. Flat types
// (mapped types and lookups, no builders piling up generics) keep it small; a change that makes
// typed code expensive to check fails here.
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { typedFlow } from "../fixtures/typed-flow-source.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

const ROUTINES = 50;
/**
 * Type instantiations of checking the 50-routine flow against the library's declarations.
 * Measured at 13,324 (TypeScript 5.9.3); the budget leaves about twice that, so only a real
 * change in how typed routines scale fails. (An untyped flow of the same shape: about 3,600.)
 */
const INSTANTIATION_BUDGET = 27_000;
/**
 * Its check time (tsc's "Check time", wall clock): 0.5 s at best on the project's shared 2-core
 * machine, up to 1.8 s while other work loads it; an untyped flow of the same shape takes about
 * 0.6 times as long. A run over budget is repeated, so a busy moment does not fail the test but a
 * real regression, over budget every time, does.
 */
const CHECK_TIME_BUDGET_S = 1;
const ATTEMPTS = 5;

interface Diagnostics {
  instantiations: number;
  checkTimeS: number;
}

/** Runs tsc with --extendedDiagnostics on one file and reads its figures. */
async function check(dir: string, file: string, source: string): Promise<Diagnostics> {
  await writeFile(join(dir, file), source);
  const config = {
    compilerOptions: {
      target: "ES2022", lib: ["ES2023"], module: "NodeNext", moduleResolution: "NodeNext", strict: true, noUncheckedIndexedAccess: true,
      skipLibCheck: true, noEmit: true, types: ["node"], typeRoots: [join(root, "node_modules", "@types")],
    },
    files: [file],
  };
  const project = join(dir, `tsconfig.${file}.json`);
  await writeFile(project, JSON.stringify(config));
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [tsc, "-p", project, "--extendedDiagnostics"], { cwd: dir, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`tsc failed on ${file}: ${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout));
  });
  const figure = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+([\\d.]+)`, "m").exec(output);
    if (match === null) throw new Error(`tsc printed no '${name}' figure:\n${output}`);
    return Number(match[1]);
  };
  return { instantiations: figure("Instantiations"), checkTimeS: figure("Check time") };
}

/** Writes the library's declarations (as the package ships them) to `outDir`, without checking it again. */
async function emitDeclarations(outDir: string): Promise<void> {
  const args = [tsc, "-p", join(root, "tsconfig.build.json"), "--emitDeclarationOnly", "--noCheck", "--outDir", outDir, "--sourceMap", "false"];
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`declaration emit failed: ${error.message}\n${stdout}\n${stderr}`)) : resolve());
  });
}

it(`a typed flow of ${ROUTINES} routines type-checks well within its instantiation and time budget`, async () => {
  const dir = join(root, ".tmp", `typecheck-cost-${process.pid}`);
  await mkdir(dir, { recursive: true });
  try {
    // Checked against the declarations, as a user's code is: the figures are the flow's, not the
    // library's (with skipLibCheck, checking only the library's declarations costs next to nothing).
    await emitDeclarations(join(dir, "lib"));
    const source = typedFlow(ROUTINES);
    const runs: Diagnostics[] = [];
    do runs.push(await check(dir, "typed-flow.ts", source));
    while (runs.length < ATTEMPTS && runs.at(-1)!.checkTimeS >= CHECK_TIME_BUDGET_S);
    const best = Math.min(...runs.map((r) => r.checkTimeS));
    const instantiations = runs[0]!.instantiations;
    console.log(
      `typed flow of ${ROUTINES} routines: ${instantiations} instantiations (budget ${INSTANTIATION_BUDGET}), ` +
      `check time ${runs.map((r) => `${r.checkTimeS.toFixed(2)} s`).join(", ")} (budget ${CHECK_TIME_BUDGET_S} s)`,
    );
    expect(runs.every((r) => r.instantiations === instantiations)).toBe(true);
    expect(instantiations).toBeGreaterThan(ROUTINES * 10);
    expect(instantiations).toBeLessThan(INSTANTIATION_BUDGET);
    expect(best).toBeLessThan(CHECK_TIME_BUDGET_S);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 300_000);
