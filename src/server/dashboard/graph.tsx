import { Graph as Dagre, layout } from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import type { Graph } from "./types.js";

const WIDTH = 190;
const HEAD = 40;
const ROW = 18;

interface Placed {
  id: string;
  x: number;
  y: number;
  height: number;
  className: string;
  slots: string[];
  events: string[];
}

/** Lays the flow out left to right with dagre: each routine a box, its slots as ports on the left, its events on the right. */
function place(graph: Graph): { nodes: Map<string, Placed>; width: number; height: number } {
  const g = new Dagre();
  g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 70, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const r of graph.routines) {
    const rows = Math.max(r.slots.length, r.events.length, 1);
    g.setNode(r.id, { width: WIDTH, height: HEAD + rows * ROW + 8 });
  }
  for (const c of graph.connections) g.setEdge(c.from.routineId, c.to.routineId);
  layout(g);
  const nodes = new Map<string, Placed>();
  for (const r of graph.routines) {
    const n = g.node(r.id) as { x: number; y: number; width: number; height: number };
    nodes.set(r.id, {
      id: r.id, x: n.x - n.width / 2, y: n.y - n.height / 2, height: n.height, className: r.className,
      slots: r.slots.map((s) => s.name), events: r.events.map((e) => e.name),
    });
  }
  const size = g.graph() as { width?: number; height?: number };
  return { nodes, width: size.width ?? 400, height: size.height ?? 200 };
}

function portY(node: Placed, index: number): number {
  return node.y + HEAD + index * ROW + ROW / 2;
}

/**
 * The flow as a graph. With `states` (a job's routine states) each routine is coloured by its
 * status; routines in `waiting` are shown as waiting for input.
 */
export function FlowGraph({ graph, states, waiting, testId }: {
  graph: Graph;
  states?: Record<string, Record<string, unknown>>;
  waiting?: string[];
  testId?: string;
}) {
  const placed = useMemo(() => place(graph), [graph]);
  const statusOf = (id: string): string => {
    if (waiting?.includes(id) === true) return "waiting";
    const status = states?.[id]?.status;
    return typeof status === "string" ? status : "idle";
  };
  return (
    <div class="graph" data-testid={testId}>
      <svg viewBox={`0 0 ${placed.width} ${placed.height}`} width={placed.width} height={placed.height} role="img" aria-label={`Flow ${graph.flowId}`}>
        {graph.connections.map((c) => {
          const from = placed.nodes.get(c.from.routineId);
          const to = placed.nodes.get(c.to.routineId);
          if (from === undefined || to === undefined) return null;
          const x1 = from.x + WIDTH;
          const y1 = portY(from, Math.max(0, from.events.indexOf(c.from.event)));
          const x2 = to.x;
          const y2 = portY(to, Math.max(0, to.slots.indexOf(c.to.slot)));
          const bend = Math.max(40, Math.abs(x2 - x1) / 2);
          return (
            <path key={c.id} class="edge" d={`M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`}>
              <title>{`${c.from.routineId}.${c.from.event} → ${c.to.routineId}.${c.to.slot}`}</title>
            </path>
          );
        })}
        {[...placed.nodes.values()].map((n) => {
          const status = statusOf(n.id);
          return (
            <g key={n.id} class={`node node-${status}`} data-routine={n.id} data-status={status}>
              <rect x={n.x} y={n.y} width={WIDTH} height={n.height} rx={6} />
              <text class="node-title" x={n.x + 10} y={n.y + 16}>{n.id}</text>
              <text class="node-class" x={n.x + 10} y={n.y + 29}>{n.className}</text>
              {n.slots.map((s, i) => (
                <g key={`s-${s}`} class="port slot">
                  <circle cx={n.x} cy={portY(n, i)} r={4} />
                  <text x={n.x + 9} y={portY(n, i) + 4}>{s}</text>
                </g>
              ))}
              {n.events.map((e, i) => (
                <g key={`e-${e}`} class="port event">
                  <circle cx={n.x + WIDTH} cy={portY(n, i)} r={4} />
                  <text x={n.x + WIDTH - 9} y={portY(n, i) + 4} text-anchor="end">{e}</text>
                </g>
              ))}
              <title>{`${n.id} (${n.className}): ${status}`}</title>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
