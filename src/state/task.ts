import type { Payload } from "../core/slot.js";

/**
 * A queued slot activation: plain data, no closures or object references, so a job serializes
 * at any task boundary and another host can run it knowing only the flow definition.
 */
export interface PendingTask {
  /** Unique within the job, increasing in enqueue order. */
  readonly taskId: number;
  /** The routine to activate. */
  readonly routineId: string;
  /** The slot of that routine to activate. */
  readonly slotName: string;
  /** The data delivered to the slot (after the connection's parameter mapping). */
  readonly data: Payload;
  /** The connection that delivered it; absent for the entry trigger. */
  readonly connectionId?: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** Epoch milliseconds before which a retry must not run. */
  readonly notBefore?: number;
  /** A delayed delivery's key (`ctx.deliverLater(..., { key })`): a newer delivery, or a cancel, with the key withdraws it. */
  readonly key?: string;
}
