import { escapeControls } from "./text.js";

/** Where the command line writes, and what it knows of its terminal. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** One run of the command line: its output streams, its options of every command, and its exit code. */
export class Cli {
  readonly io: CliIo;
  /** The exit code the command ends with. */
  exitCode = 0;
  /** `--verbose`: errors with their stack traces. */
  verbose = false;
  /**
   * JSON lines of a job's events are being printed and their last line (`{"result": ...}`) is
   * still to come: a command that ends on an error then prints `{"error": ...}` instead.
   */
  jsonPending = false;
  /** Streams whose reader has gone (EPIPE, as with `| head`): nothing more is written to them. */
  readonly #closed = new Set<NodeJS.WritableStream>();

  constructor(io: CliIo) {
    this.io = io;
    // A reader that stops reading (`routilux run flow.yaml | head -1`) must not end the job: the
    // command carries on without that output.
    for (const stream of [io.stdout, io.stderr]) {
      if (typeof stream.on !== "function") continue;
      stream.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code !== "EPIPE") throw error;
        this.#closed.add(stream);
      });
    }
  }

  /** Writes text to a stream unless its reader has gone. */
  write(stream: NodeJS.WritableStream, text: string): void {
    if (!this.#closed.has(stream)) stream.write(text);
  }

  /** Whether standard output is a terminal (so a live view may redraw in place). */
  get tty(): boolean {
    return this.io.stdout.isTTY === true && this.io.env.TERM !== "dumb";
  }

  /** Whether to color the output: on a terminal, unless NO_COLOR is set. */
  get color(): boolean {
    return this.tty && (this.io.env.NO_COLOR ?? "") === "";
  }

  /** The terminal's width, or 100 when it is not known (off a terminal, or a terminal of size 0). */
  get columns(): number {
    const columns = this.io.stdout.columns ?? 0;
    return columns > 0 ? columns : 100;
  }

  /** The terminal's height, or 24 when it is not known. */
  get rows(): number {
    const rows = this.io.stdout.rows ?? 0;
    return rows > 0 ? rows : 24;
  }

  /**
   * Text for people, made safe to print: control characters escaped visibly (the command line's
   * own colors stay on a terminal that shows them).
   */
  printable(text: string): string {
    return escapeControls(text, this.color);
  }

  /** Writes lines to standard output (control characters escaped, see {@link printable}). */
  out(...lines: string[]): void {
    for (const line of lines) this.write(this.io.stdout, `${this.printable(line)}\n`);
  }

  /** Writes lines to standard error (control characters escaped, see {@link printable}). */
  err(...lines: string[]): void {
    for (const line of lines) this.write(this.io.stderr, `${this.printable(line)}\n`);
  }

  /** Writes one JSON value as one line of standard output. */
  json(value: unknown): void {
    this.write(this.io.stdout, `${JSON.stringify(value)}\n`);
  }

  /** The last JSON line of a command that ends on an error: `{"error": {"message", "exitCode"}}`. */
  jsonError(message: string, exitCode: number): void {
    this.json({ error: { message, exitCode } });
    this.jsonPending = false;
  }

  /** Text in an ANSI style (bold, dim, red, green, yellow, cyan) when coloring, else as it is. */
  style(name: keyof typeof STYLES, text: string): string {
    return this.color ? `\u001b[${STYLES[name]}m${text}\u001b[0m` : text;
  }
}

const STYLES = { bold: "1", dim: "2", red: "31", green: "32", yellow: "33", cyan: "36" } as const;
