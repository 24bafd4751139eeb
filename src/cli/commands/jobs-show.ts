import type { JobResult, JobState, StoredJob } from "../../index.js";
import type { Cli } from "../context.js";
import { describeResult, pausedHints, type Hints } from "../follow.js";
import { formatDuration, formatTime, inlineJson, styleStatus, table } from "../format.js";
import { escapeControls as esc } from "../text.js";

/** Who holds a stored job's lease, as JSON. */
function leaseOf(stored: StoredJob): { owner: string; until: string } | null {
  if (stored.leaseOwner === null || stored.leaseUntilMs === null) return null;
  return { owner: stored.leaseOwner, until: new Date(stored.leaseUntilMs).toISOString() };
}

/** The outcome of a job that rests, else undefined. */
export async function restingResult(job: JobState): Promise<JobResult | undefined> {
  return job.status === "running" || job.status === "pending" ? undefined : job.result();
}

/** `jobs show --json`: the job, with its result when it rests and its lease. */
export async function jobJson(job: JobState, stored: StoredJob): Promise<Record<string, unknown>> {
  const result = await restingResult(job);
  return {
    jobId: job.jobId,
    flowId: job.flowId,
    status: job.status,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    revision: job.revision,
    metadata: job.metadata,
    routineStates: job.routineStates,
    history: job.executionHistory,
    pendingTasks: job.pendingTasks,
    waitingFor: job.waitingFor,
    pausePoints: job.pausePoints,
    deferredEvents: job.deferredEvents,
    sharedData: job.sharedData,
    sharedLog: job.sharedLog,
    outputs: job.outputLog,
    lease: leaseOf(stored),
    ...(result === undefined ? {} : { result }),
  };
}

/** `jobs show`: the job for people: status, routines, what it waits for, pending tasks, its history as a timeline. */
export async function showJob(cli: Cli, job: JobState, stored: StoredJob, hints: Hints, historyLimit: number): Promise<void> {
  const result = await restingResult(job);
  const lines: string[] = [];
  lines.push(`${cli.style("bold", `Job ${job.jobId}`)}  ${styleStatus(cli, job.status)}`);
  lines.push(`  flow      ${esc(job.flowId)}${typeof job.metadata.flowFile === "string" ? ` (${esc(job.metadata.flowFile)})` : ""}`);
  lines.push(`  created   ${formatTime(job.createdAt)}`);
  lines.push(`  updated   ${formatTime(job.updatedAt)}  (${formatDuration(job.updatedAt.getTime() - job.createdAt.getTime())} after it was created)`);
  const lease = leaseOf(stored);
  if (job.status === "running") {
    lines.push(`  held by   ${lease === null || Date.parse(lease.until) < Date.now() ? "no live process (carry it on with: routilux recover)" : `${lease.owner} (lease until ${formatTime(new Date(lease.until))})`}`);
  }
  const extra = Object.entries(job.metadata).filter(([key]) => key !== "flowFile" && key !== "routines");
  if (extra.length > 0) lines.push(`  metadata  ${inlineJson(Object.fromEntries(extra), 100)}`);
  if (result !== undefined && result.status !== "paused") lines.push(...describeResult(result, hints).map((line) => `  ${line}`));
  if (job.status === "paused") {
    const pause = job.pausePoints.at(-1);
    lines.push(`  paused    ${pause === undefined ? "" : `${formatTime(pause.timestamp)}${pause.reason === "" ? "" : ` (${esc(pause.reason)})`}`}`);
    lines.push(...pausedHints(job.jobId, job.waitingFor, hints).map((line) => `  ${line}`));
  }

  lines.push("", cli.style("bold", "Routines"));
  const states = Object.entries(job.routineStates);
  if (states.length === 0) lines.push("  (none has run yet)");
  else {
    const rows = states.map(([id, state]) => {
      const { status, ...rest } = state;
      return [id, styleStatus(cli, typeof status === "string" ? status : "-"), Object.keys(rest).length === 0 ? "" : inlineJson(rest, 80)];
    });
    lines.push(...table(cli, ["ROUTINE", "STATUS", "STATE"], rows).map((line) => `  ${line}`));
  }

  const pending = job.pendingTasks;
  lines.push("", cli.style("bold", `Pending tasks (${pending.length})`));
  for (const task of pending.slice(0, 20)) {
    const when = task.notBefore === undefined ? "" : ` not before ${formatTime(new Date(task.notBefore))}`;
    lines.push(`  #${task.taskId} ${task.routineId}.${task.slotName} attempt ${task.attempt}${when} ${inlineJson(task.data, 60)}`);
  }
  if (pending.length > 20) lines.push(`  ... and ${pending.length - 20} more`);

  const history = job.executionHistory;
  const shown = history.slice(-historyLimit);
  lines.push("", cli.style("bold", `History (${history.length} records${shown.length < history.length ? `, the last ${shown.length}; --history <n> for more` : ""})`));
  const start = job.createdAt.getTime();
  const rows = shown.map((record) => [
    `+${formatDuration(record.timestamp.getTime() - start)}`,
    record.routineId,
    record.eventName,
    Object.keys(record.data).length === 0 ? "" : inlineJson(record.data, 70),
  ]);
  lines.push(...table(cli, ["AT", "ROUTINE", "EVENT", "DATA"], rows).map((line) => `  ${line}`));
  cli.out(...lines);
}
