import type { Payload } from "../core/slot.js";
import type { DeferredEvent, HistoryEntry, OutputEntry } from "./records.js";
import type { PendingTask } from "./task.js";

/** A request of `ctx.waitForInput`: the job pauses until the slot is answered. */
export interface WaitRequest {
  /** The routine that asked (its slot gets the answer). */
  readonly routineId: string;
  /** The slot of that routine that receives the answer. */
  readonly slotName: string;
  /** What to ask the person, shown by the CLI and the dashboard. */
  readonly prompt?: string;
  /** A JSON Schema the answer must fit. */
  readonly schema?: Record<string, unknown>;
  /** Requests sharing a group are alternatives: the first answer to one clears the others. */
  readonly group?: string;
}

/**
 * What one activation wrote to its job while its handler ran, not yet applied: history records
 * (its emits included), outputs, shared-log entries, shared-data values, routine states,
 * deferred events and input requests. Applied to the job, and handed to the journal, when the
 * handler succeeds; dropped when it fails. The handler reads its own writes meanwhile.
 * Plain data: what a store encodes as the activation's commit.
 */
export class WriteSet {
  history: HistoryEntry[] | undefined;
  outputs: OutputEntry[] | undefined;
  sharedLog: unknown[] | undefined;
  /** Shared-data values set, by key: what the handler reads back. */
  sharedValues: Map<string, unknown> | undefined;
  /**
   * Every shared-data write in order; an update keeps its function, which is applied again to the
   * value committed when the activation commits, so concurrent updates of one key are not lost.
   */
  sharedOps: Array<{ readonly key: string; readonly value: unknown; readonly update?: (previous: unknown) => unknown }> | undefined;
  /** Routine states replaced, by routine id. */
  states: Map<string, Payload> | undefined;
  deferred: DeferredEvent[] | undefined;
  waits: WaitRequest[] | undefined;
  /** Delayed deliveries of this routine to withdraw, by key (`ctx.cancelDelivery`, or a newer `deliverLater` with the key). */
  cancels: string[] | undefined;
  /** The delayed tasks withdrawn when it committed, by taskId. */
  removed: number[] | undefined;
}

/**
 * What changed in a job outside any activation since its last commit (engine bookkeeping,
 * control calls, user code outside handlers), already applied to the job: appends as entries,
 * values as the keys that changed (a commit reads their values when it is built). Kept only for
 * a job that a journal persists.
 */
export class LooseChanges {
  history: HistoryEntry[] | undefined;
  outputs: OutputEntry[] | undefined;
  sharedLog: unknown[] | undefined;
  sharedKeys: Set<string> | undefined;
  stateIds: Set<string> | undefined;
  /** Slot buffers whose durable value changed (slotKey). */
  bufferKeys: Set<string> | undefined;
  deferred: DeferredEvent[] | undefined;
  /** The deferred events were taken (on resume) before `deferred` was added. */
  deferredReset = false;
  /** Tasks queued outside any activation (deferred events emitted on resume, detached emits, answers). */
  added: PendingTask[] | undefined;
  /** The pending set was dropped (cancel, failure, timeout) before `added` was queued. */
  cleared = false;
  /** Delayed tasks withdrawn, by taskId. */
  removed: number[] | undefined;
  /** Job-level fields changed: status, metadata, checkpoint, pause points, time limit, inputs waited for. */
  job = false;
}
