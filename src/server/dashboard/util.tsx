import type { ComponentChildren } from "preact";

/** A time as the dashboard shows it: the local time of day, with the date when not today. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  const time = date.toLocaleTimeString(undefined, { hour12: false });
  return today ? time : `${date.toLocaleDateString()} ${time}`;
}

/** A span of milliseconds as `850 ms`, `2.4 s`, `3 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/** A job's (or a routine's) status as a coloured badge. */
export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return <span class={`badge status-${status}`} data-testid={testId}>{status}</span>;
}

export function Section({ title, children, testId }: { title: string; children: ComponentChildren; testId?: string }) {
  return (
    <section class="card" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** JSON, indented, with its strings, numbers and keys coloured. */
export function JsonView({ value, testId }: { value: unknown; testId?: string }) {
  const text = JSON.stringify(value, null, 2) ?? "undefined";
  const parts: ComponentChildren[] = [];
  const token = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (let match = token.exec(text); match !== null; match = token.exec(text)) {
    parts.push(text.slice(last, match.index));
    const cls = match[1] !== undefined ? (match[2] !== undefined ? "j-key" : "j-str") : match[3] !== undefined ? "j-lit" : "j-num";
    parts.push(<span class={cls}>{match[1] ?? match[0]}</span>);
    if (match[2] !== undefined) parts.push(match[2]);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return <pre class="json" data-testid={testId}>{parts}</pre>;
}

/** Navigates within the dashboard (hash routes). */
export function go(path: string): void {
  location.hash = `#${path}`;
}
