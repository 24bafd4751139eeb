import type { Flow, FlowEvent, JobResult, JobState } from "../index.js";
import type { Cli } from "./context.js";
import { fitLine, formatDuration, styleStatus } from "./format.js";

/** What a command shows of a job's live events: JSON lines, or a view redrawn in place on a terminal. */
export interface Reporter {
  /** The job being shown (known once it is started or taken). */
  attach(job: JobState): void;
  event(event: FlowEvent): void;
  /** A message for the person at the terminal (standard error when standard output is JSON). */
  note(text: string): void;
  /** The job rests: the last event line, or the final view. */
  done(result: JobResult): void;
  /** Stops redrawing (for an early exit). */
  stop(): void;
}

/** One JSON line per event on standard output, and `{"result": JobResult}` at the end; notes go to standard error. */
export class JsonReporter implements Reporter {
  readonly #cli: Cli;

  constructor(cli: Cli) {
    this.#cli = cli;
    cli.jsonPending = true;
  }

  attach(): void {}

  event(event: FlowEvent): void {
    this.#cli.json(event);
  }

  note(text: string): void {
    this.#cli.err(text);
  }

  done(result: JobResult): void {
    this.#cli.json({ result });
    this.#cli.jsonPending = false;
  }

  stop(): void {}
}

interface RoutineProgress {
  status: string;
  tasks: number;
  retries: number;
  errors: number;
  firstMs: number | undefined;
  lastMs: number | undefined;
}

const SPINNER = ["|", "/", "-", "\\"];
const REDRAW_MS = 100;

/**
 * The live view of one job on a terminal: each routine with its status, the tasks it ran, its
 * retries and its time; the job's status, queued tasks and elapsed time. Redrawn in place.
 */
export class ProgressView implements Reporter {
  readonly #cli: Cli;
  readonly #title: string;
  readonly #routines = new Map<string, RoutineProgress>();
  #job: JobState | undefined;
  #status = "starting";
  readonly #startMs = Date.now();
  #endMs: number | undefined;
  #drawn = 0;
  #frame = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(cli: Cli, flow: Flow, title: string) {
    this.#cli = cli;
    this.#title = title;
    for (const id of flow.routines.keys()) this.#routines.set(id, { status: "idle", tasks: 0, retries: 0, errors: 0, firstMs: undefined, lastMs: undefined });
    this.#timer = setInterval(() => this.#draw(), REDRAW_MS);
    this.#timer.unref();
  }

  attach(job: JobState): void {
    this.#job = job;
    this.#status = job.status;
    // A job taken from the store shows what its routines did before.
    for (const [id, state] of Object.entries(job.routineStates)) {
      const routine = this.#routines.get(id);
      if (routine !== undefined && typeof state.status === "string") routine.status = state.status;
    }
    this.#draw();
  }

  event(event: FlowEvent): void {
    const atMs = event.at.getTime();
    switch (event.type) {
      case "status":
        this.#status = event.status;
        break;
      case "routine": {
        const routine = this.#routines.get(event.routineId);
        const status = event.state.status;
        if (routine === undefined || typeof status !== "string") break;
        // A task starts when the routine starts running (a handler writing its state while it runs
        // changes it too, and a retry starts running again from running: counted by its record).
        if (status === "running" && routine.status !== "running") {
          routine.tasks++;
          routine.firstMs ??= atMs;
        }
        routine.status = status;
        routine.lastMs = atMs;
        break;
      }
      case "record": {
        const routine = this.#routines.get(event.record.routineId);
        if (routine === undefined) break;
        if (event.record.eventName === "retry") {
          routine.retries++;
          routine.tasks++;
        }
        if (event.record.eventName === "error") routine.errors++;
        break;
      }
      case "output":
        break;
    }
  }

  note(text: string): void {
    this.#clear();
    this.#cli.out(text);
    this.#draw();
  }

  done(result: JobResult): void {
    this.#status = result.status;
    this.#endMs = Date.now();
    this.stop();
    this.#draw();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #clear(): void {
    if (this.#drawn > 0) this.#cli.write(this.#cli.io.stdout, `\u001b[${this.#drawn}A\u001b[0J`);
    this.#drawn = 0;
  }

  #draw(): void {
    const cli = this.#cli;
    const now = this.#endMs ?? Date.now();
    this.#frame++;
    const lines: string[] = [];
    const jobId = this.#job?.jobId ?? "";
    lines.push(`${cli.style("bold", this.#title)}  ${jobId === "" ? "" : `job ${jobId}  `}${styleStatus(cli, this.#status)}  ${formatDuration(now - this.#startMs)}`);
    const width = Math.max(...[...this.#routines.keys()].map((id) => id.length), 4);
    // What fits on the screen, so that the view is redrawn in place: the busiest routines first.
    const room = Math.max(cli.rows - 4, 3);
    let shown = [...this.#routines];
    if (shown.length > room) {
      const rank = (r: RoutineProgress): number => (r.status === "running" ? 0 : r.status === "idle" ? 2 : 1);
      const ranked = shown.map((entry, i) => ({ entry, i })).sort((a, b) => rank(a.entry[1]) - rank(b.entry[1]) || a.i - b.i);
      shown = ranked.slice(0, room - 1).map((x) => x.entry);
    }
    for (const [id, r] of shown) {
      const mark = r.status === "running" ? SPINNER[this.#frame % SPINNER.length]! : r.status === "completed" ? "+" : r.status === "failed" || r.status === "error" ? "x" : " ";
      const parts = [`${r.tasks} task${r.tasks === 1 ? "" : "s"}`];
      if (r.retries > 0) parts.push(cli.style("yellow", `${r.retries} retr${r.retries === 1 ? "y" : "ies"}`));
      if (r.errors > 0) parts.push(cli.style("red", `${r.errors} error${r.errors === 1 ? "" : "s"}`));
      const end = r.status === "running" ? now : r.lastMs;
      if (r.firstMs !== undefined && end !== undefined) parts.push(formatDuration(end - r.firstMs));
      lines.push(`  ${mark} ${id.padEnd(width)}  ${styleStatus(cli, r.status.padEnd(9))}  ${r.tasks === 0 ? "" : parts.join(", ")}`.trimEnd());
    }
    if (shown.length < this.#routines.size) lines.push(`  ... and ${this.#routines.size - shown.length} more routines`);
    const job = this.#job;
    if (job !== undefined && this.#endMs === undefined) {
      const queued = job.pendingTasks.length;
      const waiting = job.waitingFor.map((w) => `${w.routineId}.${w.slotName}`);
      lines.push(cli.style("dim", `  ${queued} task${queued === 1 ? "" : "s"} queued${waiting.length > 0 ? `; waiting for ${waiting.join(", ")}` : ""}`));
    }
    this.#clear();
    for (const line of lines) cli.write(cli.io.stdout, `${fitLine(cli.printable(line), cli.columns)}\n`);
    this.#drawn = lines.length;
  }
}
