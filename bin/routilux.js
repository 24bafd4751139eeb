#!/usr/bin/env node
// The routilux command line. In the published package it runs the compiled dist/cli/main.js; in a
// checkout of the repository (src/ present) it runs the TypeScript sources through tsx, so that it
// works right after `npm install`, without a build, and never runs a stale build.
import { existsSync } from "node:fs";
import { register } from "node:module";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
const fromSource = existsSync(fileURLToPath(new URL("src/cli/main.ts", root)));

if (fromSource) {
  try {
    const { register: registerTsx } = await import("tsx/esm/api");
    registerTsx();
  } catch {
    process.stderr.write(`routilux: this is a source checkout (${fileURLToPath(root)}) and it needs tsx to run: run \`npm install\` there, or \`npm run build\` and use the package\n`);
    process.exit(2);
  }
} else if (!existsSync(fileURLToPath(new URL("dist/cli/main.js", root)))) {
  process.stderr.write(`routilux: ${fileURLToPath(new URL("dist/cli/main.js", root))} is missing: build the package with \`npm run build\`\n`);
  process.exit(2);
}

// Routine modules given with --routines import "routilux": they get this very copy of the package,
// so their classes extend the same Routine class the command line builds flows with.
const index = new URL(fromSource ? "src/index.ts" : "dist/index.js", root);
register(new URL("./resolve-routilux.js", import.meta.url), { data: { index: index.href } });

const { main } = await import(new URL(fromSource ? "src/cli/main.ts" : "dist/cli/main.js", root).href);
const code = await main(process.argv.slice(2));
process.exit(code);
