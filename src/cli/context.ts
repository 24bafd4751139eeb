/** Where the command line writes, and what it knows of its terminal. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
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

  constructor(io: CliIo) {
    this.io = io;
  }

  /** Whether standard output is a terminal (so a live view may redraw in place). */
  get tty(): boolean {
    return this.io.stdout.isTTY === true && this.io.env.TERM !== "dumb";
  }

  /** Whether to color the output: on a terminal, unless NO_COLOR is set. */
  get color(): boolean {
    return this.tty && (this.io.env.NO_COLOR ?? "") === "";
  }

  /** The terminal's width, or 100 off a terminal. */
  get columns(): number {
    return this.io.stdout.columns ?? 100;
  }

  /** Writes lines to standard output. */
  out(...lines: string[]): void {
    for (const line of lines) this.io.stdout.write(`${line}\n`);
  }

  /** Writes lines to standard error. */
  err(...lines: string[]): void {
    for (const line of lines) this.io.stderr.write(`${line}\n`);
  }

  /** Writes one JSON value as one line of standard output. */
  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Text in an ANSI style (bold, dim, red, green, yellow, cyan) when coloring, else as it is. */
  style(name: keyof typeof STYLES, text: string): string {
    return this.color ? `\u001b[${STYLES[name]}m${text}\u001b[0m` : text;
  }
}

const STYLES = { bold: "1", dim: "2", red: "31", green: "32", yellow: "33", cyan: "36" } as const;
