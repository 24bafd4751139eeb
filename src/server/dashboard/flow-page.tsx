import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { FlowGraph } from "./graph.js";
import { JobsList } from "./jobs-list.js";
import type { Graph, Health } from "./types.js";
import { Section, go } from "./util.js";

/** A flow: its graph, a form to start a job, and its jobs. */
export function FlowPage({ flowId, health }: { flowId: string; health: Health }) {
  const [graph, setGraph] = useState<Graph | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [entry, setEntry] = useState("");
  const [params, setParams] = useState("{}");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setGraph(null);
    api<{ graph: Graph }>(`/api/flows/${encodeURIComponent(flowId)}`).then((flow) => {
      setGraph(flow.graph);
      setEntry(flow.graph.entryRoutineIds[0] ?? "");
    }, (e: Error) => setError(e.message));
  }, [flowId]);

  const start = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let entryParams: unknown;
      try {
        entryParams = JSON.parse(params);
      } catch {
        throw new Error("The entry params are not JSON");
      }
      const { jobId } = await api<{ jobId: string }>(`/api/flows/${encodeURIComponent(flowId)}/jobs`, {
        method: "POST",
        body: { entryRoutineId: entry, entryParams },
      });
      go(`/jobs/${jobId}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <div class="toolbar"><h1>Flow <span class="mono">{flowId}</span></h1></div>
      {error !== null && <div class="error" role="alert" data-testid="flow-error">{error}</div>}
      {graph !== null && (
        <>
          <Section title="Graph" testId="flow-graph"><FlowGraph graph={graph} /></Section>
          {!health.readOnly && graph.entryRoutineIds.length > 0 && (
            <Section title="Start a job" testId="start-job">
              <form class="start" onSubmit={(e) => void start(e)}>
                <label class="field"><span>entry routine</span>
                  <select name="entry" value={entry} onChange={(e) => setEntry((e.target as HTMLSelectElement).value)}>
                    {graph.entryRoutineIds.map((id) => <option key={id} value={id}>{id}</option>)}
                  </select>
                </label>
                <label class="field"><span>entry params (JSON)</span>
                  <textarea name="params" rows={4} value={params} onInput={(e) => setParams((e.target as HTMLTextAreaElement).value)} />
                </label>
                <button class="primary" type="submit" disabled={busy}>Start</button>
              </form>
            </Section>
          )}
        </>
      )}
      <JobsList flows={health.flows} initialFlow={flowId} />
    </div>
  );
}

/** Every flow the server shows. */
export function FlowsPage({ health }: { health: Health }) {
  type FlowInfo = { flowId: string; routines: number; connections: number; entryRoutineIds: string[] };
  const [flows, setFlows] = useState<FlowInfo[] | null>(null);
  useEffect(() => {
    void api<{ flows: FlowInfo[] }>("/api/flows").then((r) => setFlows(r.flows));
  }, []);
  return (
    <div>
      <div class="toolbar"><h1>Flows</h1></div>
      <div class="cards">
        {(flows ?? []).map((f) => (
          <a class="card flow-card" key={f.flowId} href={`#/flows/${encodeURIComponent(f.flowId)}`} data-testid="flow-card">
            <h2 class="mono">{f.flowId}</h2>
            <p class="muted">{f.routines} routines, {f.connections} connections{health.readOnly ? "" : ` · starts at ${f.entryRoutineIds.join(", ") || "–"}`}</p>
          </a>
        ))}
      </div>
    </div>
  );
}
