import { AsyncLocalStorage } from "node:async_hooks";
import type { Flow } from "../runtime/flow.js";
import type { JobState } from "../state/job-state.js";
import type { Routine } from "./routine.js";

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

/**
 * The engine's side of a running handler's context: what `Routine.emit` and friends call.
 * The runtime implements it; the core sees only this narrow interface.
 * @internal
 */
export interface ActiveContext extends ExecutionContext {
  readonly routine: Routine;
  emit(routineId: string, eventName: string, data: Record<string, unknown>): void;
  sendOutput(routineId: string, outputType: string, data: Record<string, unknown>): void;
  emitDeferred(routineId: string, eventName: string, data: Record<string, unknown>): void;
  /** The id under which `routine` is in this context's flow, if it is. */
  routineIdOf(routine: Routine): string | undefined;
}

/** @internal */
export const contextStorage = new AsyncLocalStorage<ActiveContext>();

/** The context of the handler running now (found after any `await`), or undefined outside a job. */
export function currentContext(): ActiveContext | undefined {
  return contextStorage.getStore();
}
