import type { Cli } from "./context.js";

/** A duration as people read it: `850 ms`, `12.3 s`, `4 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

/** A time as `2026-05-01 14:03:07` in the local time zone. */
export function formatTime(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** JSON on one line, cut to `max` characters. */
export function inlineJson(value: unknown, max = 80): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The visible length of a text that may hold ANSI styles. */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}

/** A line cut to fit `columns` (without its styles, when cut), so that it never wraps. */
export function fitLine(line: string, columns: number): string {
  if (visibleLength(line) < columns) return line;
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\u001b\[[0-9;]*m/g, "");
  return `${plain.slice(0, Math.max(columns - 4, 1))}...`;
}

/** Rows in aligned columns under a header (styled bold on a terminal); the last column is not padded. */
export function table(cli: Cli, header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => visibleLength(row[i] ?? ""))));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat(widths[i]! - visibleLength(cell)))).join("  ").trimEnd();
  return [cli.style("bold", line(header)), ...rows.map(line)];
}

/** A job status, colored by what it means on a terminal. */
export function styleStatus(cli: Cli, status: string): string {
  switch (status) {
    case "completed":
      return cli.style("green", status);
    case "failed":
    case "cancelled":
    case "error":
      return cli.style("red", status);
    case "paused":
    case "waiting":
      return cli.style("yellow", status);
    case "running":
      return cli.style("cyan", status);
    default:
      return status;
  }
}
