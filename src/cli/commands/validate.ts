import type { Command } from "commander";
import { FlowSpecError, type FlowSpecIssue } from "../../index.js";
import type { Cli } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { openFlow } from "../flows.js";
import { collect } from "../input.js";

interface ValidateOptions {
  routines?: string[];
  json?: boolean;
}

function issueLine(file: string, issue: FlowSpecIssue): string {
  const location = [file, issue.line, issue.column].filter((part) => part !== undefined).join(":");
  return [location, issue.path, issue.message].filter((part) => part !== "").join(": ");
}

/** `1 routine`, `2 routines`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `routilux validate <flow-file>`: every problem of a flow file, with its line and column. */
export function validateCommand(program: Command, cli: Cli): void {
  program
    .command("validate")
    .description("check a flow file: syntax, schema, references, routine classes, slots and events; lists every problem with its file, line and column")
    .argument("<flow-file>", "the flow file (YAML or JSON)")
    .option("--routines <module>", "a module whose exported Routine classes the flow file may name (repeatable); JavaScript, or TypeScript under a loader such as tsx", collect)
    .option("--json", "print { valid, flowId?, routines?, connections?, issues } as JSON")
    .addHelpText("after", `
Exit codes: 0 valid, 2 invalid (one line per problem: file:line:column: path: message).

Examples:
  $ routilux validate flow.yaml --routines ./routines.mjs
  $ routilux validate flow.json --json`)
    .action(async (file: string, options: ValidateOptions) => {
      try {
        const { flow } = await openFlow(file, options.routines ?? [], undefined);
        const summary = {
          valid: true, flowId: flow.flowId, routines: flow.routines.size, connections: flow.connections.length, issues: [],
        };
        if (options.json === true) cli.json(summary);
        else cli.out(`${file}: flow '${flow.flowId}' is valid (${count(summary.routines, "routine")}, ${count(summary.connections, "connection")})`);
      } catch (error) {
        if (error instanceof FlowSpecError) {
          if (options.json === true) cli.json({ valid: false, issues: error.issues, issueCount: error.issueCount });
          else {
            cli.err(...error.issues.map((issue) => issueLine(file, issue)));
            if (error.issueCount > error.issues.length) cli.err(`... and ${error.issueCount - error.issues.length} more`);
            cli.err(`${file}: ${error.issueCount === 1 ? "1 problem" : `${error.issueCount} problems`}`);
          }
          cli.exitCode = ExitCode.USAGE;
          return;
        }
        if (options.json === true && !(error instanceof CliError)) {
          cli.json({ valid: false, issues: [{ path: "", message: error instanceof Error ? error.message : String(error) }] });
          cli.exitCode = ExitCode.USAGE;
          return;
        }
        throw error;
      }
    });
}
