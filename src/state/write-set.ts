import { contextStorage } from "../core/context.js";
import { checkJsonValue, isJsonValue } from "../core/json-value.js";
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

/** The write set of an open activation of `job`, when called from inside one (its handler, or code it awaits). */
export function openWrites(job: object): WriteSet | undefined {
  const ctx = contextStorage.getStore();
  return ctx === undefined ? undefined : (ctx.writesFor(job) as WriteSet | undefined);
}

/** One shared-data write of an activation: a value, or an update that is applied again when it commits. */
export interface SharedOp {
  readonly key: string;
  readonly value: unknown;
  readonly update?: (previous: unknown) => unknown;
}

/**
 * Applies an activation's shared-data writes to the job's shared data: its values, or, when it
 * updated a key, its writes again on the committed values (so concurrent updates are not lost).
 * @internal
 */
export function applySharedOps(shared: Payload, ops: readonly SharedOp[], values: Map<string, unknown>, jobId: string): void {
  if (!ops.some((op) => op.update !== undefined)) {
    for (const [key, value] of values) shared[key] = value;
    return;
  }
  for (const op of ops) {
    let value = op.value;
    if (op.update !== undefined) {
      try {
        const next = op.update(shared[op.key]);
        if (!isJsonValue(next)) checkJsonValue(next, `shared data '${op.key}' of job '${jobId}'`, `sharedData.${op.key}`);
        value = next;
      } catch {
        // It ran once already, in the handler; its value then stands.
      }
    }
    shared[op.key] = value;
    values.set(op.key, value);
  }
}

/**
 * What one activation wrote to its job while its handler ran, not yet applied: history records
 * (its emits included), outputs, shared-log entries, shared-data values, routine states,
 * deferred events and input requests. Applied to the job, and handed to the journal, when the
 * handler succeeds; dropped when it fails. The handler reads its own writes meanwhile.
 * Plain data: what a store encodes as the activation's commit. Most activations only emit, so
 * all but the history live in a part made on its first write.
 */
export class WriteSet {
  /** The first history record: most activations make exactly one (their emit), so it needs no list. */
  history1: HistoryEntry | undefined;
  /** The history records after the first. */
  historyRest: HistoryEntry[] | undefined;
  #more: MoreWrites | undefined;

  /** Appends a history record. */
  addHistory(entry: HistoryEntry): void {
    if (this.history1 === undefined) this.history1 = entry;
    else if (this.historyRest === undefined) this.historyRest = [entry];
    else this.historyRest.push(entry);
  }

  /** The history records in order, as a list made when asked for (the hot path reads `history1` and `historyRest`). */
  get history(): readonly HistoryEntry[] | undefined {
    const first = this.history1;
    if (first === undefined) return undefined;
    const rest = this.historyRest;
    return rest === undefined ? [first] : [first, ...rest];
  }

  get outputs(): OutputEntry[] | undefined {
    return this.#more?.outputs;
  }

  set outputs(value: OutputEntry[] | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).outputs = value;
  }

  get sharedLog(): unknown[] | undefined {
    return this.#more?.sharedLog;
  }

  set sharedLog(value: unknown[] | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).sharedLog = value;
  }

  /** Shared-data values set, by key: what the handler reads back. */
  get sharedValues(): Map<string, unknown> | undefined {
    return this.#more?.sharedValues;
  }

  set sharedValues(value: Map<string, unknown> | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).sharedValues = value;
  }

  /** Every shared-data write in order; an update keeps its function, which is applied again to the
   * value committed when the activation commits, so concurrent updates of one key are not lost. */
  get sharedOps(): SharedOp[] | undefined {
    return this.#more?.sharedOps;
  }

  set sharedOps(value: SharedOp[] | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).sharedOps = value;
  }

  /** Routine states replaced, by routine id. */
  get states(): Map<string, Payload> | undefined {
    return this.#more?.states;
  }

  set states(value: Map<string, Payload> | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).states = value;
  }

  get deferred(): DeferredEvent[] | undefined {
    return this.#more?.deferred;
  }

  set deferred(value: DeferredEvent[] | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).deferred = value;
  }

  get waits(): WaitRequest[] | undefined {
    return this.#more?.waits;
  }

  set waits(value: WaitRequest[] | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).waits = value;
  }

  /** Delayed deliveries of this routine to withdraw, by key (`ctx.cancelDelivery`, or a newer `deliverLater` with the key). */
  get cancels(): string[] | undefined {
    return this.#more?.cancels;
  }

  set cancels(value: string[] | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).cancels = value;
  }

  /** The delayed tasks withdrawn when it committed, by taskId. */
  get removed(): number[] | undefined {
    return this.#more?.removed;
  }

  set removed(value: number[] | undefined) {
    if (value !== undefined || this.#more !== undefined) (this.#more ??= new MoreWrites()).removed = value;
  }
}

/** The writes of an activation other than its history. */
class MoreWrites {
  outputs: OutputEntry[] | undefined;
  sharedLog: unknown[] | undefined;
  sharedValues: Map<string, unknown> | undefined;
  sharedOps: SharedOp[] | undefined;
  states: Map<string, Payload> | undefined;
  deferred: DeferredEvent[] | undefined;
  waits: WaitRequest[] | undefined;
  cancels: string[] | undefined;
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
