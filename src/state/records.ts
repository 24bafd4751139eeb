import type { Payload } from "../core/slot.js";

/** One entry of a job's execution history. */
export interface ExecutionRecord {
  /** The routine it is about; the flow's id for records of the job itself (completed, paused, ...). */
  readonly routineId: string;
  /** An event name, or what happened: "start", "error", "retry", "skipped", "paused", "resumed", "cancelled", "completed", "failed", "timeout". */
  readonly eventName: string;
  /** The event's data, or the details of what happened. */
  readonly data: Record<string, unknown>;
  /** When it happened. */
  readonly timestamp: Date;
}

/** One output sent by a routine (`sendOutput`). */
export interface OutputRecord {
  /** The routine that sent it. */
  readonly routineId: string;
  /** The kind of output, as given to `sendOutput`. */
  readonly outputType: string;
  /** The output's data. */
  readonly data: Record<string, unknown>;
  /** When it was sent. */
  readonly timestamp: Date;
}

/** An event stored by `emitDeferredEvent`, emitted when the job is resumed. */
export interface DeferredEvent {
  /** The routine that will emit it. */
  readonly routineId: string;
  /** The event to emit, one of that routine's events. */
  readonly eventName: string;
  /** The data to emit it with. */
  readonly data: Record<string, unknown>;
}

/** A pause of the job: when, why, and the checkpoint given. */
export interface PausePoint {
  /** When the job was paused. */
  readonly timestamp: Date;
  /** The reason given to `flow.pause` (empty if none). */
  readonly reason: string;
  /** The checkpoint given to `flow.pause`, if any. */
  readonly checkpoint?: Record<string, unknown>;
}

/**
 * Times are kept relative to this process's start, so those of a running process are small
 * integers (no boxed number per record; a process holds many idle jobs). Any time stays exact.
 * @internal
 */
export const TIME_BASE = Date.now();

/**
 * A history entry. The time is kept as milliseconds; `timestamp` makes the `Date` on read.
 * @internal
 */
export class HistoryEntry implements ExecutionRecord {
  readonly routineId: string;
  readonly eventName: string;
  readonly data: Payload;
  #at: number;

  constructor(routineId: string, eventName: string, data: Payload, timeMs: number) {
    this.routineId = routineId;
    this.eventName = eventName;
    this.data = data;
    this.#at = timeMs - TIME_BASE;
  }

  /** Epoch milliseconds (an activation's records are stamped when it commits). */
  get timeMs(): number {
    return this.#at + TIME_BASE;
  }

  set timeMs(value: number) {
    this.#at = value - TIME_BASE;
  }

  get timestamp(): Date {
    return new Date(this.timeMs);
  }

  toJSON(): object {
    return { routineId: this.routineId, eventName: this.eventName, data: this.data, timestamp: this.timestamp.toISOString() };
  }
}

/** An output entry; the time is kept as epoch milliseconds. @internal */
export class OutputEntry implements OutputRecord {
  readonly routineId: string;
  readonly outputType: string;
  readonly data: Payload;
  readonly #at: number;

  constructor(routineId: string, outputType: string, data: Payload, timeMs: number) {
    this.routineId = routineId;
    this.outputType = outputType;
    this.data = data;
    this.#at = timeMs - TIME_BASE;
  }

  /** Epoch milliseconds. */
  get timeMs(): number {
    return this.#at + TIME_BASE;
  }

  get timestamp(): Date {
    return new Date(this.timeMs);
  }

  toJSON(): object {
    return { routineId: this.routineId, outputType: this.outputType, data: this.data, timestamp: this.timestamp.toISOString() };
  }
}

/** A pause point; the time is kept as epoch milliseconds. @internal */
export class PauseEntry implements PausePoint {
  readonly reason: string;
  readonly checkpoint?: Record<string, unknown>;
  readonly #at: number;

  constructor(timeMs: number, reason: string, checkpoint: Record<string, unknown> | undefined) {
    this.#at = timeMs - TIME_BASE;
    this.reason = reason;
    if (checkpoint !== undefined) this.checkpoint = checkpoint;
  }

  /** Epoch milliseconds. */
  get timeMs(): number {
    return this.#at + TIME_BASE;
  }

  get timestamp(): Date {
    return new Date(this.timeMs);
  }

  toJSON(): object {
    return { timestamp: this.timestamp.toISOString(), reason: this.reason, checkpoint: this.checkpoint };
  }
}
