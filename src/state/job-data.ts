import { systemClock, type Clock } from "../core/clock.js";
import type { Payload } from "../core/slot.js";
import { Deque } from "./deque.js";
import type { JobJournal, JournaledJob } from "./journal.js";
import { TIME_BASE, type HistoryEntry, type OutputEntry } from "./records.js";
import type { SlotBuffer } from "./slot-buffer.js";
import type { PendingTask } from "./task.js";
import { LooseChanges, type WaitRequest } from "./write-set.js";
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
/** The in-flight list of a job with no handler running: shared (and frozen) until a dispatch makes its own. @internal */
export const NOTHING_IN_FLIGHT = Object.freeze([]) as unknown as Array<{ readonly task: PendingTask }>;

/** The parts of a job's engine data that most jobs never set, kept apart so an idle job stays small. */
class MoreJobData {
  delayed: Map<number, PendingTask> | undefined = undefined;
  slotBuffers: Map<string, SlotBuffer> | undefined = undefined;
  waitingFor: WaitRequest[] | undefined = undefined;
  earlyAnswers: EarlyAnswer[] | undefined = undefined;
  outputHandler: OutputHandler | undefined = undefined;
  timeoutMs: number | undefined = undefined;
  runningMs: number = 0;
  runningSince: number | undefined = undefined;
  loose: LooseChanges | undefined = undefined;
  final: boolean = false;
  eventSeq: number = 0;
  lost: Error | undefined = undefined;
  leaseUntil: number = Infinity;
}

export class JobData {
  readonly queue = new Deque<PendingTask>();
  /**
   * Activations whose handlers are running (bounded by the flow's workers): a document written
   * now lists their tasks as pending, to run again.
   */
  inFlight: Array<{ readonly task: PendingTask }> = NOTHING_IN_FLIGHT;
  nextTaskId = 1;
  clock: Clock = systemClock;
  /** Creation and last change, relative to TIME_BASE (small integers: no boxed number per job). */
  #created: number;
  #updated: number;
  /** The store revision this copy is at: the sequence number of the last commit it holds (0: none). */
  revision = 0;
  /** The journal persisting the job in this process, if any. */
  journal: JobJournal | undefined;
  /** Where the job's changes are reported as live events. */
  observer: JobObserver | undefined;
  /** Transient: the engine run the job is attached to in this process (never serialized). */
  run: unknown;
  /** Transient: callers waiting for the job to rest. */
  waiters: JobWaiter[] | undefined;
  /**
   * Transient: open activations that changed the job's control state (a pause from one of its own
   * handlers): its loose changes wait for their commits, so they are stored with that work.
   */
  holds = 0;
  #more: MoreJobData | undefined;

  /** The rarely set parts, made on first write. */
  #writable(): MoreJobData {
    return (this.#more ??= new MoreJobData());
  }

  /** Retries and delayed deliveries waiting for their `notBefore`, by taskId. */
  get delayed(): Map<number, PendingTask> | undefined {
    return this.#more === undefined ? undefined : this.#more.delayed;
  }

  set delayed(value: Map<number, PendingTask> | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().delayed = value;
  }

  /** Per-job buffers of slots with an "append" or custom merge strategy, keyed by `slotKey`. */
  get slotBuffers(): Map<string, SlotBuffer> | undefined {
    return this.#more === undefined ? undefined : this.#more.slotBuffers;
  }

  set slotBuffers(value: Map<string, SlotBuffer> | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().slotBuffers = value;
  }

  /** Inputs the job waits for (`ctx.waitForInput`), in the order asked. */
  get waitingFor(): WaitRequest[] | undefined {
    return this.#more === undefined ? undefined : this.#more.waitingFor;
  }

  set waitingFor(value: WaitRequest[] | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().waitingFor = value;
  }

  /** Answers that arrived before their wait. */
  get earlyAnswers(): EarlyAnswer[] | undefined {
    return this.#more === undefined ? undefined : this.#more.earlyAnswers;
  }

  set earlyAnswers(value: EarlyAnswer[] | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().earlyAnswers = value;
  }

  /** Where the job's outputs go (never serialized). */
  get outputHandler(): OutputHandler | undefined {
    return this.#more === undefined ? undefined : this.#more.outputHandler;
  }

  set outputHandler(value: OutputHandler | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().outputHandler = value;
  }

  /** The job's time limit, if any. */
  get timeoutMs(): number | undefined {
    return this.#more === undefined ? undefined : this.#more.timeoutMs;
  }

  set timeoutMs(value: number | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().timeoutMs = value;
  }

  /** How long the job ran before `runningSince` (paused time excluded). */
  get runningMs(): number {
    return this.#more === undefined ? 0 : this.#more.runningMs;
  }

  set runningMs(value: number) {
    if (this.#more !== undefined || value !== 0) this.#writable().runningMs = value;
  }

  /** Transient: since when the job's time limit counts (undefined while it does not). */
  get runningSince(): number | undefined {
    return this.#more === undefined ? undefined : this.#more.runningSince;
  }

  set runningSince(value: number | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().runningSince = value;
  }

  /** Changes made outside any activation that the journal has not committed yet. */
  get loose(): LooseChanges | undefined {
    return this.#more === undefined ? undefined : this.#more.loose;
  }

  set loose(value: LooseChanges | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().loose = value;
  }

  /** The job was persisted and has ended: its stored state is final. */
  get final(): boolean {
    return this.#more === undefined ? false : this.#more.final;
  }

  set final(value: boolean) {
    if (this.#more !== undefined || value !== false) this.#writable().final = value;
  }

  /** The number of the job's last live event (per process). */
  get eventSeq(): number {
    return this.#more === undefined ? 0 : this.#more.eventSeq;
  }

  set eventSeq(value: number) {
    if (this.#more !== undefined || value !== 0) this.#writable().eventSeq = value;
  }

  /**
   * Transient: until when (epoch milliseconds by this process's clock) the job's lease in its store
   * is known to be held here; Infinity when no lease applies. No activation starts past it until a
   * renewal confirms the lease.
   */
  get leaseUntil(): number {
    return this.#more === undefined ? Infinity : this.#more.leaseUntil;
  }

  set leaseUntil(value: number) {
    if (this.#more !== undefined || value !== Infinity) this.#writable().leaseUntil = value;
  }

  /** Transient: why this process lost the job (its waiters are refused with it until it is attached again). */
  get lost(): Error | undefined {
    return this.#more === undefined ? undefined : this.#more.lost;
  }

  set lost(value: Error | undefined) {
    if (this.#more !== undefined || value !== undefined) this.#writable().lost = value;
  }

  constructor(nowMs: number) {
    this.#created = nowMs - TIME_BASE;
    this.#updated = this.#created;
  }

  /** When the job was created, in epoch milliseconds. */
  get createdAtMs(): number {
    return this.#created + TIME_BASE;
  }

  set createdAtMs(value: number) {
    this.#created = value - TIME_BASE;
  }

  /** When the job last changed, in epoch milliseconds. */
  get updatedAtMs(): number {
    return this.#updated + TIME_BASE;
  }

  set updatedAtMs(value: number) {
    this.#updated = value - TIME_BASE;
  }

  /**
   * The loose changes to note a change of `job` in, when a journal persists it: made by the first
   * change since the last commit, which tells the journal. Undefined when no journal persists the job.
   */
  looseChanges(job: JournaledJob): LooseChanges | undefined {
    const journal = this.journal;
    if (journal === undefined) return undefined;
    let loose = this.loose;
    if (loose === undefined) {
      loose = new LooseChanges();
      this.loose = loose;
      journal.jobChanged(job);
    }
    return loose;
  }

  /** Notes that `job`'s job-level fields changed (status, metadata, checkpoint, pause points, time limit, inputs waited for). */
  noteJobFields(job: JournaledJob): void {
    const loose = this.looseChanges(job);
    if (loose !== undefined) loose.job = true;
  }

  /** Notes tasks queued outside any activation, after dropping the pending set when `cleared`. */
  noteTasks(job: JournaledJob, added: readonly PendingTask[], cleared: boolean): void {
    const loose = this.looseChanges(job);
    if (loose === undefined) return;
    if (cleared) {
      loose.cleared = true;
      loose.added = undefined;
    }
    if (added.length > 0) (loose.added ??= []).push(...added);
  }

  /** Notes delayed tasks withdrawn outside any activation. */
  noteTasksRemoved(job: JournaledJob, taskIds: readonly number[]): void {
    const loose = this.looseChanges(job);
    if (loose !== undefined && taskIds.length > 0) (loose.removed ??= []).push(...taskIds);
  }

  /** Notes that a slot buffer's durable value changed outside an activation's commit. */
  noteBuffer(job: JournaledJob, key: string): void {
    const loose = this.looseChanges(job);
    if (loose !== undefined) (loose.bufferKeys ??= new Set()).add(key);
  }

  /** Takes the loose changes for a commit, leaving none. */
  takeLoose(): LooseChanges | undefined {
    const loose = this.loose;
    this.loose = undefined;
    return loose;
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
