import type { Flow } from "../api/flow.js";
import type { Clock } from "../core/clock.js";
import type { Payload } from "../core/slot.js";
import { kJobData } from "../state/job-data.js";
import type { PendingTask } from "../state/task.js";
import { deliveryOf, endedJobEmit } from "./activation.js";
import type { JobRun } from "./job-run.js";
import { isFinal } from "./lifecycle.js";
import type { Timers } from "./timers.js";

/** What a continuation that outlived its handler needs from the engine. @internal */
export interface DetachedHost {
  readonly flow: Flow;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Queues tasks outside any activation and notes them for the journal. */
  queueTasks(run: JobRun, tasks: readonly PendingTask[]): void;
  /** After the job changed: end it when nothing of it is left, else wake its waiters. */
  afterSettle(run: JobRun): void;
}

/** An emit from a continuation that outlived its handler: recorded and queued at once, while the job lasts. @internal */
export function detachedEmit(host: DetachedHost, run: JobRun, routineId: string, eventName: string, data: Payload): void {
  const job = run.job;
  if (isFinal(job.status) || run.detached || job[kJobData].run !== run) throw endedJobEmit(job.jobId, job.status, routineId, eventName);
  job.pushRecord(routineId, eventName, data, host.clock.now());
  const tasks = (host.flow.outgoing(routineId, eventName) ?? []).map((c) => deliveryOf(c, data));
  host.queueTasks(run, tasks);
}

/** A `deliverLater` from a continuation that outlived its handler: held at once, while the job lasts. @internal */
export function detachedDelivery(host: DetachedHost, run: JobRun, task: PendingTask): void {
  const job = run.job;
  if (isFinal(job.status) || run.detached || job[kJobData].run !== run) {
    throw endedJobEmit(job.jobId, job.status, task.routineId, task.slotName);
  }
  if (task.key !== undefined) job.tasksRemoved(host.timers.withdraw(run, task.routineId, [task.key]) ?? []);
  (task as { taskId: number }).taskId = run.data.nextTaskId++;
  host.timers.delay(run, task);
  job.tasksChanged([task], false);
  host.afterSettle(run);
}

/** A `cancelDelivery` from a continuation that outlived its handler. @internal */
export function detachedCancel(host: DetachedHost, run: JobRun, routineId: string, key: string): void {
  const job = run.job;
  if (isFinal(job.status) || run.detached) return;
  job.tasksRemoved(host.timers.withdraw(run, routineId, [key]) ?? []);
  host.afterSettle(run);
}
