import { existsSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { CliError, ExitCode } from "../errors.js";

const FLOW = `# A small flow: greet someone, make the greeting loud, keep it.
# Run it:  routilux run flow.yaml --routines ./routines.mjs --param name=Ada
flowId: hello
routines:
  greet: { class: Greeter, config: { delayMs: 300 } }
  shout: { class: Mapper, config: { mapping: { text: 'data.greeting + "!"' } } }
  keep:  { class: Keeper }
connections:
  - { from: greet.greeted, to: shout.input }
  - { from: shout.output, to: keep.input }
`;

const ROUTINES = `// Routine classes for flow.yaml. \`routilux run flow.yaml --routines ./routines.mjs\` imports this
// module and registers every exported Routine subclass under its export name.
import { Routine } from "routilux";

/** Starts a job: greets \`name\` (default "world") after \`delayMs\`, and emits \`greeted { greeting }\`. */
export class Greeter extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.greet);
    this.defineEvent("greeted", ["greeting"]);
  }

  async greet(data, ctx) {
    await new Promise((resolve) => setTimeout(resolve, this.getConfig("delayMs", 0)));
    const name = typeof data.name === "string" ? data.name : "world";
    ctx.emit("greeted", { greeting: \`Hello, \${name}\` });
  }
}

/** Keeps the text it receives in the job's shared data, and sends it as an output. */
export class Keeper extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.keep);
  }

  keep(data, ctx) {
    ctx.shared.set("message", data.text);
    ctx.sendOutput("message", { text: data.text });
  }
}
`;

function readme(dir: string): string {
  return `# hello: a routilux flow

Run it: \`npx routilux run flow.yaml --routines ./routines.mjs --param name=Ada\`

- \`flow.yaml\`: the flow (routines and connections); \`routines.mjs\`: the classes it names besides the built-ins.
- \`npx routilux validate flow.yaml --routines ./routines.mjs\` checks it; \`npx routilux graph flow.yaml\` draws it (Mermaid).
- Jobs are stored in \`.routilux/jobs.db\`: \`npx routilux jobs list\`, \`npx routilux jobs show <id>\`.
${dir === "." ? "" : `\nCreated with \`routilux init ${dir}\`.\n`}`;
}

/** `routilux init [dir]`: a small working project. */
export function initCommand(program: Command, cli: Cli): void {
  program
    .command("init")
    .description("write a small working project: a flow file, a routine module and a README")
    .argument("[dir]", "where to write it (created when missing)", ".")
    .option("--force", "overwrite files that exist")
    .addHelpText("after", `
Examples:
  $ routilux init my-flow
  $ cd my-flow && routilux run flow.yaml --routines ./routines.mjs --param name=Ada`)
    .action(async (dir: string, options: { force?: boolean }) => {
      const root = resolve(dir);
      if (existsSync(root) && !statSync(root).isDirectory()) throw new CliError(`${root} exists and is not a folder; choose another directory`);
      const files: Array<[string, string]> = [["flow.yaml", FLOW], ["routines.mjs", ROUTINES], ["README.md", readme(dir)]];
      const taken = files.map(([name]) => name).filter((name) => existsSync(join(root, name)));
      if (taken.length > 0 && options.force !== true) {
        throw new CliError(`${taken.join(", ")} already exist${taken.length === 1 ? "s" : ""} in ${root}; choose another directory or pass --force`);
      }
      try {
        await mkdir(root, { recursive: true });
        for (const [name, text] of files) await writeFile(join(root, name), text);
      } catch (error) {
        // A file on the way (ENOTDIR), no permission (EACCES), a full disk...
        const why = error instanceof Error ? error.message : String(error);
        throw new CliError(`Cannot write the project to ${root}: ${why}`, (error as { code?: unknown }).code === "ENOSPC" ? ExitCode.FAILED : ExitCode.USAGE, { cause: error });
      }
      const where = relative(process.cwd(), root) || ".";
      cli.out(`Wrote ${files.map(([name]) => join(where, name)).join(", ")}`);
      cli.out("Run it:");
      if (where !== ".") cli.out(`  cd ${where}`);
      cli.out("  npx routilux run flow.yaml --routines ./routines.mjs --param name=Ada");
    });
}
