import { AsyncLocalStorage } from "node:async_hooks";
import type { Flow } from "../api/flow.js";
import type { JobState } from "../api/job-state.js";
import type { Routine } from "./routine.js";
import type { AnyRoutineSpec, EmitArgs, EventName, Payload, RoutineSpec, SlotData, SlotName } from "./routine-spec.js";

/** Where a slot handler runs: its flow, its job and its routine's id in the flow. */
export interface ExecutionContext {
  /** The flow running the job. */
  readonly flow: Flow;
  /** The job the handler runs in. */
  readonly jobState: JobState;
  /** The id of the handler's routine in the flow. */
  readonly routineId: string;
  /** 1 for the first attempt of this activation, 2 for its first retry, ... */
  readonly attempt: number;
}

/** The job's shared data as a handler sees it (`ctx.shared`): its own writes, and what other handlers committed. */
export interface SharedData {
  /** One key, or `defaultValue` when it is not set. */
  get<T = unknown>(key: string, defaultValue?: T): T;
  /** Sets one key (plain JSON); it takes effect for other handlers when this one succeeds. */
  set(key: string, value: unknown): void;
  /**
   * Sets one key to `fn` of its current value and returns the result. `fn` runs again on the
   * committed value when the handler succeeds, so concurrent handlers updating one key (a counter)
   * lose no update: keep `fn` pure.
   */
  update<T>(key: string, fn: (previous: T | undefined) => T): T;
}

/**
 * A handler's second argument: where it runs, and what it may do there. Everything it writes to
 * its own job takes effect when it succeeds, and is discarded when it fails. In a typed routine
 * (`Routine<Spec>`) `emit`, `deliverLater` and `waitForInput` take only the spec's names and data.
 */
export interface HandlerContext<S extends RoutineSpec = AnyRoutineSpec> extends ExecutionContext {
  /** The job's id. */
  readonly jobId: string;
  /** Aborted when the handler should stop: its job was cancelled, failed or timed out, its lease was lost, or the flow shuts down. */
  readonly signal: AbortSignal;
  /** Who sent this data; undefined for entry params and answers. */
  readonly source: { readonly routineId: string; readonly eventName: string } | undefined;
  /** The job's shared data. */
  readonly shared: SharedData;
  /** Emits an event of this handler's routine. */
  emit<K extends EventName<S>>(eventName: K, ...data: EmitArgs<S, K>): void;
  /** Sends an output of this handler's routine. */
  sendOutput(outputType: string, data?: Payload): void;
  /**
   * Asks for input: when the handler succeeds, the job pauses until `flow.answer` delivers data
   * to `slot` of this routine (checked against `schema`, JSON Schema or a Standard Schema).
   * Requests sharing a `group` are alternatives. Returns at once.
   */
  waitForInput(request: { slot: SlotName<S>; prompt?: string; schema?: object; group?: string }): void;
  /**
   * Delivers `data` to `slot` of this handler's routine after `delayMs`, holding no worker
   * meanwhile (a timer, stored with the job: it survives pause, serialization and a crash). Like
   * an emit, it takes effect when the handler succeeds.
   */
  deliverLater<K extends SlotName<S>>(slot: K, data: SlotData<S, K>, delayMs: number, options?: { key?: string }): void;
  /** Withdraws this routine's pending `deliverLater` of `key`, if any, when the handler succeeds (a timer no longer needed). */
  cancelDelivery(key: string): void;
}

/**
 * The engine's side of a running handler's context: what `Routine.emit` and friends call, and
 * what a job's state asks to route a handler's writes into its activation.
 * The runtime implements it; the core sees only this narrow interface.
 * @internal
 */
export interface ActiveContext extends ExecutionContext {
  readonly routine: Routine;
  emitAs(routineId: string, eventName: string, data: Record<string, unknown>): void;
  sendOutputAs(routineId: string, outputType: string, data: Record<string, unknown>): void;
  emitDeferredAs(routineId: string, eventName: string, data: Record<string, unknown>): void;
  /** The id under which `routine` is in this context's flow, if it is. */
  routineIdOf(routine: Routine): string | undefined;
  /** This activation's write set when it is still open and runs in `job`; otherwise undefined. */
  writesFor(job: object): object | undefined;
}

/** @internal */
export const contextStorage = new AsyncLocalStorage<ActiveContext>();

/** The context of the handler running now (found after any `await`), or undefined outside a job. */
export function currentContext(): ActiveContext | undefined {
  return contextStorage.getStore();
}

/**
 * Calls `fn` outside any handler's async context. Engine and store timers are made this way:
 * a timer made inside a handler would otherwise capture the handler's context, and with it its
 * job, for as long as the timer lives.
 * @internal
 */
export function outsideContext<T>(fn: () => T): T {
  return contextStorage.getStore() === undefined ? fn() : contextStorage.run(undefined as unknown as ActiveContext, fn);
}
