import type { JobState } from "../api/job-state.js";
import type { Clock } from "../core/clock.js";
import { describeError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import type { AttachMode, JobCommand, JobJournal, JobOwner } from "../state/journal.js";
import type { PendingTask } from "../state/task.js";
import type { JobRun } from "./job-run.js";
import type { JobControl } from "./job-control.js";
import { isFinal, releaseWaiters, transition, type LifecycleHost } from "./lifecycle.js";
import type { Scheduler } from "./scheduler.js";
import type { Timers } from "./timers.js";

/** What the ownership of jobs needs from the engine. @internal */
export interface OwnershipHost extends LifecycleHost {
  readonly clock: Clock;
  readonly journal: JobJournal | undefined;
  /** Runs no job here: a job the store accepts is handed back to it at once. */
  readonly handsOff: boolean;
  readonly scheduler: Scheduler;
  readonly timers: Timers;
  readonly control: JobControl;
  /** After the job changed: end it when nothing of it is left, else wake its waiters. */
  afterSettle(run: JobRun): void;
  /** Stops counting a run among the jobs running or held here. */
  forget(run: JobRun): void;
}

/**
 * This process's hold on the jobs its journal persists: a job runs only once the store accepts
 * it (the gate), a refusal sends it back, a lease that may have lapsed holds its dispatch until a
 * renewal confirms it, a job lost to another process stops here at once, and control calls that
 * other processes send through the store are applied.
 * @internal
 */
export class Ownership {
  readonly #engine: OwnershipHost;

  constructor(engine: OwnershipHost) {
    this.#engine = engine;
  }

  /**
   * With a journal, holds the job back until the store accepts it (no handler runs before);
   * refusals the journal can see at once are thrown here, before the job changes.
   */
  gate(run: JobRun, mode: AttachMode): void {
    const engine = this.#engine;
    const journal = engine.journal;
    if (journal === undefined || run.data.journal === journal && mode !== "resume") return;
    const attached = journal.attach(run.job, mode, this.ownerOf(run));
    run.gated = true;
    run.attached = attached.then(
      (): Promise<void> | undefined => {
        if (engine.handsOff && !run.detached) return engine.control.handOver(run);
        run.gated = false;
        if (run.detached) return undefined;
        engine.scheduler.ready(run);
        engine.afterSettle(run);
        return undefined;
      },
      (error: unknown) => {
        const reason = error instanceof Error ? error : new Error(String(error));
        this.refused(run, mode, reason);
        throw reason;
      },
    );
    // Its waiters and result() report a refusal; nobody need await this promise.
    run.attached.catch(() => undefined);
  }

  /** The store refused to take the job: a new one fails, a resumed one goes back to paused; its waiters learn why. */
  refused(run: JobRun, mode: AttachMode, error: Error): void {
    const engine = this.#engine;
    run.gated = false;
    const data = run.data;
    data.journal = undefined;
    data.loose = undefined;
    if (run.detached || isFinal(run.job.status)) return;
    data.lost = error;
    releaseWaiters(data, error);
    const message = describeError(error).message;
    if (run.job.status === "running") {
      engine.timers.stopLimit(run);
      engine.timers.clearDelays(run);
      if (mode === "start") transition(engine, run, "failed", [engine.flowId, "store_error", { error: message }]);
      else transition(engine, run, "paused", [engine.flowId, "resume_refused", { error: message }]);
    }
  }

  /** What the journal tells about a run's job: that it was lost, or that another process asks for a control call. */
  ownerOf(run: JobRun): JobOwner {
    return {
      holder: this.#engine,
      lost: (error) => this.lose(run, error),
      command: (command) => this.command(run, command),
    };
  }

  /** Applies a control request another process sent through the store. */
  async command(run: JobRun, command: JobCommand): Promise<void> {
    const control = this.#engine.control;
    const job = run.job as JobState;
    const args = command.args;
    const reason = typeof args.reason === "string" ? args.reason : "";
    switch (command.kind) {
      case "pause":
        return control.pause(job, reason, undefined);
      case "cancel":
        return control.cancel(job, reason);
      case "resume":
        if (job.status === "paused") control.resume(job);
        return;
      case "answer":
        return control.answer(job, String(args.routineId), String(args.slotName), (args.data ?? {}) as Payload);
    }
  }

  /**
   * The job's lease may have expired: puts `task` back and holds the job until a renewal confirms
   * the lease; returns false (dispatch goes on) when no lease applies to the job any more.
   */
  holdForLease(run: JobRun, task: PendingTask): boolean {
    const data = run.data;
    const journal = data.journal;
    if (journal === undefined) {
      data.leaseUntil = Infinity;
      return false;
    }
    data.queue.unshift(task);
    if (run.held) return true;
    run.held = true;
    journal.confirmLease(run.job).then(
      () => {
        run.held = false;
        this.#engine.scheduler.ready(run);
      },
      (error: unknown) => {
        run.held = false;
        this.lose(run, error instanceof Error ? error : new Error(String(error)));
      },
    );
    return true;
  }

  /**
   * The job is lost to this process (its lease was taken, or its store failed for good): it stops
   * here at once. Its JobState keeps the status it had (the store holds it as running, and another
   * process may carry it on), but nothing of it runs here any more: its handlers are aborted, its
   * waiters (`result()`, `waitForCompletion`) are refused with `error`, and its history ends with a
   * "store_error" record saying it was stopped.
   */
  lose(run: JobRun, error: Error): void {
    if (run.detached) return;
    const engine = this.#engine;
    run.detached = true;
    engine.forget(run);
    engine.timers.stopLimit(run);
    engine.timers.clearDelays(run);
    for (const ctx of run.active) ctx.abort(error);
    const data = run.data;
    data.journal = undefined;
    data.loose = undefined;
    data.lost = error;
    run.job.pushRecord(engine.flowId, "store_error", { error: describeError(error).message, stopped: true }, engine.clock.now());
    releaseWaiters(data, error);
  }
}
