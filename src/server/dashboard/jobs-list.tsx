import { useEffect, useRef, useState } from "preact/hooks";
import { api, follow } from "./api.js";
import type { FlowEvent, JobSummary } from "./types.js";
import { StatusBadge, formatTime, go, shortId } from "./util.js";

const STATUSES = ["", "running", "paused", "completed", "failed", "cancelled", "pending"];

/** Calls `fn` at most once per `ms`, the last call winning. */
function useThrottled(fn: () => void, ms: number): () => void {
  const timer = useRef<number | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  return () => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  };
}

/** The jobs of the store, newest first, filtered by flow and status, kept current by the event stream of all jobs. */
export function JobsList({ flows, initialFlow }: { flows: string[]; initialFlow?: string }) {
  const [flowId, setFlowId] = useState(initialFlow ?? "");
  const [status, setStatus] = useState("");
  const [jobs, setJobs] = useState<JobSummary[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);

  const load = async (): Promise<void> => {
    try {
      // A store lists jobs oldest first; the dashboard reads every page and shows the newest first.
      const all: JobSummary[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query = new URLSearchParams({ limit: "500" });
        if (flowId !== "") query.set("flowId", flowId);
        if (status !== "") query.set("status", status);
        if (cursor !== null) query.set("cursor", cursor);
        const page: { jobs: JobSummary[]; nextCursor: string | null } = await api(`/api/jobs?${query.toString()}`);
        all.push(...page.jobs);
        cursor = page.nextCursor;
      } while (cursor !== null && ++pages < 10);
      setMore(cursor !== null);
      setJobs(all.reverse());
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const reload = useThrottled(() => void load(), 250);

  useEffect(() => {
    void load();
  }, [flowId, status]);

  useEffect(() => follow("/api/events", (message) => {
    if (message.event === "reset") return reload();
    if (message.event !== "message") return;
    const event = JSON.parse(message.data) as FlowEvent;
    if (event.type === "status") reload();
  }, setLive), []);

  return (
    <div>
      <div class="toolbar">
        <h1>Jobs</h1>
        <span class={`live ${live ? "on" : "off"}`} data-testid="live" title={live ? "Receiving live updates" : "Not connected"}>{live ? "live" : "offline"}</span>
        <label>flow
          <select data-testid="filter-flow" value={flowId} onChange={(e) => setFlowId((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {flows.map((f) => <option key={f} value={f}>{f}</option>)}
          </select>
        </label>
        <label>status
          <select data-testid="filter-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            {STATUSES.map((s) => <option key={s} value={s}>{s === "" ? "all" : s}</option>)}
          </select>
        </label>
      </div>
      {error !== null && <div class="error" role="alert">{error}</div>}
      {jobs === null ? <p class="muted">Loading…</p> : jobs.length === 0 ? <p class="muted" data-testid="no-jobs">No jobs yet.</p> : (
        <table class="jobs" data-testid="jobs">
          <thead><tr><th>job</th><th>flow</th><th>status</th><th>waiting for</th><th>started</th><th>last change</th></tr></thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.jobId} data-testid="job-row" data-job-id={job.jobId} data-status={job.status} onClick={() => go(`/jobs/${job.jobId}`)}>
                <td class="mono"><a href={`#/jobs/${job.jobId}`}>{shortId(job.jobId)}</a></td>
                <td>{job.flowId}</td>
                <td><StatusBadge status={job.status} /></td>
                <td>{job.waitingFor.join(", ")}</td>
                <td class="mono">{formatTime(job.createdAt)}</td>
                <td class="mono">{formatTime(job.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more && <p class="muted">More than 5,000 jobs match: the 5,000 oldest are shown; narrow the filters to see the others.</p>}
    </div>
  );
}
