import { useEffect, useRef, useState } from "preact/hooks";
import { AnswerForm } from "./answer-form.js";
import { api, follow } from "./api.js";
import { FlowGraph } from "./graph.js";
import { HistoryTable, Timeline } from "./timeline.js";
import type { Graph, Health, Job } from "./types.js";
import { JsonView, Section, StatusBadge, formatTime } from "./util.js";

/**
 * One job: its status and controls (pause, resume, cancel), a form per input it waits for, the
 * flow graph coloured by routine status, the timeline of activations, the history with the
 * selected record's payload, shared data, outputs and pending tasks. Kept current by the job's
 * event stream.
 */
export function JobPage({ jobId, health }: { jobId: string; health: Health }) {
  const [job, setJob] = useState<Job | null>(null);
  const [graph, setGraph] = useState<Graph | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const loading = useRef<Promise<void> | null>(null);
  const again = useRef(false);

  const load = (): void => {
    // One read at a time; events during a read ask for one more read after it.
    if (loading.current !== null) {
      again.current = true;
      return;
    }
    loading.current = api<Job>(`/api/jobs/${encodeURIComponent(jobId)}`).then((j) => {
      setJob(j);
      setError(null);
    }, (e: Error) => setError(e.message)).finally(() => {
      loading.current = null;
      if (again.current) {
        again.current = false;
        load();
      }
    });
  };

  useEffect(() => {
    setJob(null);
    setSelected(null);
    load();
    return follow(`/api/jobs/${encodeURIComponent(jobId)}/events`, () => load());
  }, [jobId]);

  const flowId = job?.flowId;
  useEffect(() => {
    if (flowId === undefined || !health.flows.includes(flowId)) return;
    void api<{ graph: Graph }>(`/api/flows/${encodeURIComponent(flowId)}`).then((f) => setGraph(f.graph));
  }, [flowId]);

  const control = async (kind: "pause" | "resume" | "cancel"): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setJob(await api<Job>(`/api/jobs/${encodeURIComponent(jobId)}/${kind}`, { method: "POST", body: {} }));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (job === null) return error === null ? <p class="muted">Loading…</p> : <div class="error" role="alert">{error}</div>;
  const waiting = job.waitingFor.length > 0;
  const canControl = !health.readOnly && health.flows.includes(job.flowId);
  const record = selected === null ? undefined : job.history[selected];
  const slotSchema = (routineId: string, slotName: string) =>
    graph?.routines.find((r) => r.id === routineId)?.slots.find((s) => s.name === slotName)?.schema;

  return (
    <div>
      <div class="toolbar">
        <h1>Job <span class="mono" data-testid="job-id">{job.jobId}</span></h1>
        <StatusBadge status={waiting && job.status === "paused" ? "waiting" : job.status} testId="job-status" />
        {canControl && (
          <span class="buttons">
            <button data-testid="pause" disabled={busy || job.status !== "running"} onClick={() => void control("pause")}>Pause</button>
            <button data-testid="resume" disabled={busy || job.status !== "paused" || waiting} onClick={() => void control("resume")}>Resume</button>
            <button data-testid="cancel" class="danger" disabled={busy || !["running", "paused", "pending"].includes(job.status)} onClick={() => void control("cancel")}>Cancel</button>
          </span>
        )}
      </div>
      <p class="muted">
        flow <a href={`#/flows/${encodeURIComponent(job.flowId)}`}>{job.flowId}</a> · started {formatTime(job.createdAt)} · last change {formatTime(job.updatedAt)}
        {job.error !== undefined && <> · <span class="error-text">{job.error.errorType} in {job.error.routineId}: {job.error.message}</span></>}
        {job.cancelReason !== undefined && <> · cancelled: {job.cancelReason}</>}
      </p>
      {error !== null && <div class="error" role="alert" data-testid="job-error">{error}</div>}
      {waiting && (
        <Section title="Waiting for input" testId="waiting">
          {job.waitingFor.map((w) => canControl
            ? <AnswerForm key={`${w.routineId}.${w.slotName}`} jobId={job.jobId} wait={w} schema={w.schema ?? slotSchema(w.routineId, w.slotName)} onAnswered={load} />
            : <p key={`${w.routineId}.${w.slotName}`}><strong>{w.routineId}.{w.slotName}</strong> {w.prompt}</p>)}
        </Section>
      )}
      {graph !== null && (
        <Section title="Graph" testId="job-graph">
          <FlowGraph graph={graph} states={job.routineStates} waiting={job.waitingFor.map((w) => w.routineId)} />
        </Section>
      )}
      <Section title="Timeline" testId="timeline-section">
        <Timeline job={job} selected={selected} onSelect={setSelected} />
      </Section>
      <div class="split">
        <Section title={`History (${job.history.length})`}>
          <HistoryTable job={job} selected={selected} onSelect={setSelected} />
        </Section>
        <Section title={record === undefined ? "Payload" : `Payload: ${record.routineId} ${record.eventName}`} testId="payload">
          {record === undefined ? <p class="muted">Select a record in the timeline or the history.</p> : <JsonView value={record.data} testId="payload-json" />}
        </Section>
      </div>
      <div class="split">
        <Section title="Shared data" testId="shared-data"><JsonView value={job.sharedData} /></Section>
        <Section title={`Pending tasks (${job.pendingTasks.length})`} testId="pending-tasks">
          {job.pendingTasks.length === 0 ? <p class="muted">None.</p> : (
            <table class="history">
              <thead><tr><th>task</th><th>slot</th><th>attempt</th><th>not before</th></tr></thead>
              <tbody>
                {job.pendingTasks.map((t) => (
                  <tr key={t.taskId}>
                    <td>{t.taskId}</td>
                    <td>{t.routineId}.{t.slotName}</td>
                    <td>{t.attempt}</td>
                    <td class="mono">{t.notBefore === undefined ? "" : formatTime(new Date(t.notBefore).toISOString())}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      </div>
      <div class="split">
        <Section title={`Outputs (${job.outputs.length})`}><JsonView value={job.outputs} /></Section>
        <Section title="Routine states"><JsonView value={job.routineStates} /></Section>
      </div>
    </div>
  );
}
