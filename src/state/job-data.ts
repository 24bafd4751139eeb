import { systemClock, type Clock } from "../core/clock.js";
import type { Payload } from "../core/slot.js";
import { Deque } from "./deque.js";
import type { JobJournal } from "./journal.js";
import type { HistoryEntry, OutputEntry } from "./records.js";
import type { SlotBuffer } from "./slot-buffer.js";
import type { PendingTask } from "./task.js";
import type { LooseChanges, WaitRequest } from "./write-set.js";
import type { OutputHandler } from "./output-handlers.js";

/**
 * Told of every change to a job's committed state, as it takes effect (the flow's live events).
 * `active` is false when nobody listens, so the engine skips building events.
 * @internal
 */
export interface JobObserver {
  readonly active: boolean;
  record(job: object, entry: HistoryEntry): void;
  routine(job: object, routineId: string, state: Payload): void;
  output(job: object, entry: OutputEntry): void;
}

/** Someone waiting for a job to come to rest (`waitForCompletion`, `result()`). @internal */
export interface JobWaiter {
  /** The job rests (or its waiters are let go: `rested` false, e.g. at shutdown). */
  wake(rested: boolean): void;
  /** The job was lost to this process (its state could not be made durable). */
  fail(error: Error): void;
}

/** An answer that arrived before the job asked for it (`flow.answer`), kept until it does. */
export interface EarlyAnswer {
  readonly routineId: string;
  readonly slotName: string;
  readonly data: Payload;
}

/**
 * The engine-facing parts of a job that are state, not API: its task queue, retries waiting for
 * their time, slot merge buffers, inputs it waits for, timing and its store revision. They live in
 * the JobState, so a paused job's queue is simply its queue, and serialization sees everything.
 * @internal
 */
export class JobData {
  readonly queue = new Deque<PendingTask>();
  /** Retries and delayed deliveries waiting for their `notBefore`, by taskId. */
  delayed: Map<number, PendingTask> | undefined;
  /**
   * Activations whose handlers are running (bounded by the flow's workers): a document written
   * now lists their tasks as pending, to run again.
   */
  readonly inFlight: Array<{ readonly task: PendingTask }> = [];
  /** Per-job buffers of slots with an "append" or custom merge strategy, keyed by `slotKey`. */
  slotBuffers: Map<string, SlotBuffer> | undefined;
  /** Inputs the job waits for (`ctx.waitForInput`), in the order asked. */
  waitingFor: WaitRequest[] | undefined;
  /** Answers that arrived before their wait. */
  earlyAnswers: EarlyAnswer[] | undefined;
  nextTaskId = 1;
  clock: Clock = systemClock;
  outputHandler: OutputHandler | undefined;
  timeoutMs: number | undefined;
  /** How long the job ran before `runningSince` (paused time excluded). */
  runningMs = 0;
  /** Transient: since when the job's time limit counts (undefined while it does not). */
  runningSince: number | undefined;
  createdAtMs: number;
  updatedAtMs: number;
  /** The store revision this copy is at: the sequence number of the last commit it holds (0: none). */
  revision = 0;
  /** The journal persisting the job in this process, if any. */
  journal: JobJournal | undefined;
  /** Changes made outside any activation that the journal has not committed yet. */
  loose: LooseChanges | undefined;
  /** The job was persisted and has ended: its stored state is final. */
  final = false;
  /** Where the job's changes are reported as live events. */
  observer: JobObserver | undefined;
  /** The number of the job's last live event (per process). */
  eventSeq = 0;
  /** Transient: the engine run the job is attached to in this process (never serialized). */
  run: unknown;
  /** Transient: callers waiting for the job to rest. */
  waiters: JobWaiter[] | undefined;
  /** Transient: why this process lost the job (its waiters are refused with it until it is attached again). */
  lost: Error | undefined;

  constructor(nowMs: number) {
    this.createdAtMs = nowMs;
    this.updatedAtMs = nowMs;
  }

  /** How long the job has run in all, as of `nowMs`. */
  runningMsAt(nowMs: number): number {
    return this.runningSince === undefined ? this.runningMs : this.runningMs + nowMs - this.runningSince;
  }

  /** Queued tasks and waiting retries (and, with `withInFlight`, running ones), in taskId order. */
  pendingTasks(withInFlight = false): PendingTask[] {
    const queued = this.queue.toArray();
    const delayed = this.delayed?.size ?? 0;
    const running = withInFlight ? this.inFlight.length : 0;
    if (delayed === 0 && running === 0) return queued;
    const all = [...queued, ...(this.delayed?.values() ?? [])];
    for (let i = 0; i < running; i++) all.push(this.inFlight[i]!.task);
    return all.sort((a, b) => a.taskId - b.taskId);
  }
}

/** Key of a slot buffer. @internal */
export function slotKey(routineId: string, slotName: string): string {
  return `${routineId}\u0000${slotName}`;
}

/** The routine id and slot name of a slot buffer key. @internal */
export function splitSlotKey(key: string): [routineId: string, slotName: string] {
  const split = key.indexOf("\u0000");
  return [key.slice(0, split), key.slice(split + 1)];
}

/** @internal */
export const kJobData: unique symbol = Symbol("routilux.jobData");
