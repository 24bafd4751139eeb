import type { Command } from "commander";
import { readFlowFile, type FlowSpec } from "../../index.js";
import type { Cli } from "../context.js";
import { CliError } from "../errors.js";
import { collect } from "../input.js";

interface GraphOptions {
  format?: string;
  routines?: string[];
}

/** A Mermaid node id: letters, digits and underscores only (routine ids may hold any character but "."). */
function mermaidId(id: string, index: number): string {
  return `r${index}_${id.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/** Text in a Mermaid label, between double quotes. */
function mermaidText(text: string): string {
  return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

/** Text in a DOT string, between double quotes. */
function dotText(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function split(endpoint: string): [string, string] {
  const at = endpoint.indexOf(".");
  return [endpoint.slice(0, at), endpoint.slice(at + 1)];
}

function edgeLabel(event: string, slot: string, mapping: Readonly<Record<string, string>> | undefined): string {
  const mapped = mapping === undefined ? "" : ` (${Object.entries(mapping).map(([from, to]) => `${from}→${to}`).join(", ")})`;
  return `${event} → ${slot}${mapped}`;
}

/** The flow as a Mermaid flowchart: routines as boxes (id and class), connections labelled `event → slot`. */
export function toMermaid(spec: FlowSpec): string {
  const ids = new Map(Object.keys(spec.routines).map((id, i) => [id, mermaidId(id, i)]));
  const lines = ["flowchart LR"];
  for (const [id, routine] of Object.entries(spec.routines)) lines.push(`  ${ids.get(id)}["${mermaidText(id)}<br/><small>${mermaidText(routine.class)}</small>"]`);
  for (const c of spec.connections ?? []) {
    const [from, event] = split(c.from);
    const [to, slot] = split(c.to);
    lines.push(`  ${ids.get(from)} -- "${mermaidText(edgeLabel(event, slot, c.paramMapping))}" --> ${ids.get(to)}`);
  }
  return lines.join("\n");
}

/** The flow as a Graphviz DOT digraph: routines as boxes (id and class), connections labelled `event → slot`. */
export function toDot(spec: FlowSpec): string {
  const lines = [`digraph "${dotText(spec.flowId)}" {`, "  rankdir=LR;", "  node [shape=box, style=rounded];"];
  for (const [id, routine] of Object.entries(spec.routines)) lines.push(`  "${dotText(id)}" [label="${dotText(`${id}\n${routine.class}`)}"];`);
  for (const c of spec.connections ?? []) {
    const [from, event] = split(c.from);
    const [to, slot] = split(c.to);
    lines.push(`  "${dotText(from)}" -> "${dotText(to)}" [label="${dotText(edgeLabel(event, slot, c.paramMapping))}"];`);
  }
  lines.push("}");
  return lines.join("\n");
}

/** `routilux graph <flow-file>`: the flow as a Mermaid or DOT diagram. */
export function graphCommand(program: Command, cli: Cli): void {
  program
    .command("graph")
    .description("print a flow file as a diagram: Mermaid (default) or Graphviz DOT, connections labelled event → slot")
    .argument("<flow-file>", "the flow file (YAML or JSON)")
    .option("--format <format>", "mermaid or dot", "mermaid")
    .option("--routines <module>", "accepted as by the other flow commands, and not needed: the diagram is drawn from the file alone (repeatable)", collect)
    .addHelpText("after", `
Routine classes are not loaded: the diagram is drawn from the file alone.

Examples:
  $ routilux graph flow.yaml > flow.mmd
  $ routilux graph flow.yaml --format dot | dot -Tsvg > flow.svg`)
    .action(async (file: string, options: GraphOptions) => {
      const format = options.format ?? "mermaid";
      if (format !== "mermaid" && format !== "dot") throw new CliError(`--format expects mermaid or dot, got '${format}'`);
      const { spec } = await readFlowFile(file);
      cli.out(format === "dot" ? toDot(spec) : toMermaid(spec));
    });
}
