import type { HistoryRecord, Job } from "./types.js";
import { formatDuration, formatTime } from "./util.js";

/** The kind of a history record, for its colour: an error, a retry, a wait, an answer, a job-level change, or an emit. */
function kindOf(record: HistoryRecord): string {
  // A routine's own event may be called "answered" or "waiting" too: the engine's records name a slot.
  const engine = typeof record.data.slot === "string";
  switch (record.eventName) {
    case "error":
    case "failed":
    case "timeout":
    case "store_error":
      return "error";
    case "retry":
      return "retry";
    case "waiting":
    case "answered":
    case "answer_kept":
      return engine ? (record.eventName === "waiting" ? "wait" : "answer") : "emit";
    case "paused":
      return "wait";
    case "resumed":
      return "answer";
    case "start":
    case "completed":
    case "cancelled":
    case "skipped":
      return "job";
    default:
      return "emit";
  }
}

/** The order marks are drawn in (later on top): emits under everything, errors over everything. */
const LAYER: Record<string, number> = { emit: 0, job: 1, wait: 2, answer: 3, retry: 4, error: 5 };
/** Vertical offsets a mark tries, in turn, when another mark of its lane (not an emit) sits at about the same time. */
const ROWS = [0, -8, 8];

interface Placed {
  readonly index: number;
  readonly record: HistoryRecord;
  readonly kind: string;
  readonly cx: number;
  readonly cy: number;
}

/**
 * Places the marks: in drawing order (by layer, then time), each on its lane; a mark other than an
 * emit that would cover another such mark of its lane moves up or down a little, so that errors,
 * retries, waits and answers at the same moment all show (emits stay under them).
 */
function placeMarks(
  history: readonly HistoryRecord[], laneOf: (record: HistoryRecord) => number, x: (iso: string) => number, laneHeight: number,
): Placed[] {
  const marks = history.map((record, index) => ({ index, record, kind: kindOf(record), cx: x(record.timestamp), lane: laneOf(record) }));
  marks.sort((a, b) => (LAYER[a.kind] ?? 0) - (LAYER[b.kind] ?? 0) || a.index - b.index);
  const taken = new Map<number, Array<{ cx: number; dy: number }>>();
  return marks.map((mark) => {
    const centre = mark.lane * laneHeight + 13;
    if (mark.kind === "emit") return { ...mark, cy: centre };
    const others = taken.get(mark.lane) ?? [];
    const dy = ROWS.find((row) => others.every((o) => o.dy !== row || Math.abs(o.cx - mark.cx) >= 10)) ?? 0;
    others.push({ cx: mark.cx, dy });
    taken.set(mark.lane, others);
    return { ...mark, cy: centre + dy };
  });
}

function labelOf(record: HistoryRecord): string {
  const attempt = record.data.attempt;
  if (record.eventName === "retry" && typeof attempt === "number") return `retry → attempt ${attempt}`;
  if (record.eventName === "error" && typeof attempt === "number") return `error (attempt ${attempt})`;
  return record.eventName;
}

/**
 * A job's activations over time: one lane per routine, a mark per history record (emits, errors,
 * retries with their attempt, waits, answers), from the job's start to its last change (or now).
 * Errors, retries, waits and answers are drawn over the emits, and moved up or down a little when
 * they meet at the same moment. Clicking a mark selects the record.
 */
export function Timeline({ job, selected, onSelect }: { job: Job; selected: number | null; onSelect: (index: number) => void }) {
  const start = new Date(job.createdAt).getTime();
  const last = job.history.reduce((max, r) => Math.max(max, new Date(r.timestamp).getTime()), start);
  const running = job.status === "running" || job.status === "pending";
  const end = Math.max(last, running ? Date.now() : last, start + 1);
  const span = end - start;
  const lanes = [...new Set(job.history.map((r) => r.routineId))];
  const laneHeight = 26;
  const left = 150;
  const width = 1200;
  const x = (iso: string): number => left + ((new Date(iso).getTime() - start) / span) * (width - left - 16);
  return (
    <div class="timeline" data-testid="timeline">
      <svg viewBox={`0 0 ${width} ${lanes.length * laneHeight + 24}`} width="100%" role="img" aria-label="Timeline of activations">
        {lanes.map((lane, i) => (
          <g key={lane}>
            <line class="lane" x1={left} x2={width - 8} y1={i * laneHeight + 13} y2={i * laneHeight + 13} />
            <text class="lane-label" x={left - 8} y={i * laneHeight + 17} text-anchor="end">{lane}</text>
          </g>
        ))}
        {placeMarks(job.history, (record) => lanes.indexOf(record.routineId), x, laneHeight).map(({ index, record, kind, cx, cy }) => (
          <circle
            key={index}
            class={`mark mark-${kind}${selected === index ? " selected" : ""}`}
            data-event={record.eventName}
            cx={cx}
            cy={cy}
            r={selected === index ? 7 : 5}
            onClick={() => onSelect(index)}
          >
            <title>{`${record.routineId}: ${labelOf(record)} at ${formatTime(record.timestamp)}`}</title>
          </circle>
        ))}
        <text class="axis" x={left} y={lanes.length * laneHeight + 18}>0</text>
        <text class="axis" x={width - 8} y={lanes.length * laneHeight + 18} text-anchor="end">{formatDuration(span)}</text>
      </svg>
      <div class="legend">
        {["emit", "error", "retry", "wait", "answer", "job"].map((k) => <span key={k}><i class={`dot mark-${k}`} />{k}</span>)}
      </div>
    </div>
  );
}

/** The history as a table; a row selects its record, whose payload is shown beside it. */
export function HistoryTable({ job, selected, onSelect }: { job: Job; selected: number | null; onSelect: (index: number) => void }) {
  return (
    <table class="history" data-testid="history">
      <thead><tr><th>time</th><th>routine</th><th>event</th></tr></thead>
      <tbody>
        {job.history.map((record, index) => (
          <tr key={index} class={`${selected === index ? "selected " : ""}row-${kindOf(record)}`} onClick={() => onSelect(index)} data-testid="history-row">
            <td class="mono">{formatTime(record.timestamp)}</td>
            <td>{record.routineId}</td>
            <td>{labelOf(record)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
