import { outsideContext } from "../core/context.js";
import { RoutiluxError, describeError } from "../core/errors.js";
import { OutputEntry, type OutputRecord } from "./records.js";

/** Receives a job's outputs (`sendOutput`). A handler that throws never fails the job. */
export interface OutputHandler {
  /**
   * Receives one output of a job.
   *
   * @param routineId - the id of the routine that sent it
   * @param outputType - the kind of output, as given to `sendOutput`
   * @param data - the output's data
   * @param timestamp - when it was sent
   * @returns nothing, or a promise: a rejection is reported as a process warning naming the job
   */
  handle(routineId: string, outputType: string, data: Record<string, unknown>, timestamp: Date): void | Promise<void>;
}

/**
 * Collects outputs in a queue: read `items`, `shift()` them, or iterate with `for await`
 * (the iteration ends after {@link QueueOutputHandler.close}).
 *
 * @example
 * ```ts
 * const outputs = new QueueOutputHandler();
 * const job = flow.execute("source", { outputHandler: outputs });
 * await JobState.waitForCompletion(flow, job);
 * outputs.close();
 * for await (const output of outputs) console.log(output.outputType, output.data);
 * ```
 */
export class QueueOutputHandler implements OutputHandler, AsyncIterable<OutputRecord> {
  /** The outputs received and not yet taken, oldest first. */
  readonly items: OutputRecord[] = [];
  #closed = false;
  #wake: (() => void) | undefined;

  /** Queues the output (ignored once closed). */
  handle(routineId: string, outputType: string, data: Record<string, unknown>, timestamp: Date): void {
    if (this.#closed) return;
    this.items.push(new OutputEntry(routineId, outputType, data, timestamp.getTime()));
    this.#notify();
  }

  /** Takes the oldest output, or undefined when there is none. */
  shift(): OutputRecord | undefined {
    return this.items.shift();
  }

  /** Ends async iteration once the queued items are read; later outputs are ignored. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  /** Whether {@link QueueOutputHandler.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Yields the queued outputs, then each new one as it arrives, until the handler is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<OutputRecord> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Calls a function for each output. */
export class CallbackOutputHandler implements OutputHandler {
  readonly #callback: OutputHandler["handle"];

  constructor(callback: OutputHandler["handle"]) {
    if (typeof callback !== "function") {
      throw new RoutiluxError(`Expected a callback function for CallbackOutputHandler, got ${typeof callback}`);
    }
    this.#callback = callback;
  }

  /** Calls the callback with the output; returns what it returns (an async callback's promise). */
  handle(routineId: string, outputType: string, data: Record<string, unknown>, timestamp: Date): void | Promise<void> {
    return this.#callback(routineId, outputType, data, timestamp);
  }
}

/** Discards outputs (they still go to the job's `outputLog`). */
export class NullOutputHandler implements OutputHandler {
  /** Does nothing. */
  handle(): void {}
}

/**
 * Passes one output of job `jobId` to its handler. Returns what the handler threw, described, for
 * the job's history (undefined when it did not throw). An async handler's rejection comes too late
 * for the history: it is a process warning, never an unhandled rejection.
 * @internal
 */
export function deliverOutput(handler: OutputHandler, jobId: string, output: OutputEntry): { message: string; type: string } | undefined {
  const { routineId, outputType } = output;
  try {
    // Outside any handler's async context: an output handler is not part of the activation that sent the output.
    const returned: unknown = outsideContext(() => handler.handle(routineId, outputType, output.data, output.timestamp));
    if (returned instanceof Promise) {
      returned.catch((error: unknown) => process.emitWarning(
        `The output handler of job '${jobId}' failed on output '${outputType}' of routine '${routineId}': ${describeError(error).message}`,
        "RoutiluxWarning",
      ));
    }
    return undefined;
  } catch (error) {
    return describeError(error);
  }
}
