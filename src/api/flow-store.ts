// What a Flow does through its store, beside running jobs: control calls on jobs given by id,
// recovery, and the engine as a Worker drives it.
import { JobStateError, RoutiluxError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { restoreStoredJob } from "../persistence/commit-replay.js";
import type { CommandRequest, JobStore } from "../persistence/job-store.js";
import { sendCommand } from "../persistence/commands.js";
import { recoverJobs } from "../persistence/recovery.js";
import type { Engine } from "../runtime/engine.js";
import type { JobStateCore } from "../state/job-state.js";
import type { JobState } from "./job-state.js";
import type { WorkerHost } from "./worker-host.js";

/**
 * A control call on a job given by id, through the store: the process that holds the job (runs
 * it, or holds it paused) applies it and says how it went; when no process takes the request,
 * and no live process holds the job's lease, this process takes the job from the store and
 * applies the call here.
 * @internal
 */
export async function controlById(engine: Engine, store: JobStore | undefined, jobId: string, kind: CommandRequest["kind"], args: Record<string, unknown>): Promise<void> {
  if (store === undefined) throw new RoutiluxError(`Flow '${engine.flowId}' has no store to find job '${jobId}' in; pass the JobState itself`);
  const stored = await store.readJob(jobId);
  if (stored === undefined) throw new JobStateError(`No job '${jobId}' in ${String(store)}`);
  if (stored.flowId !== engine.flowId) {
    throw new JobStateError(`Job '${jobId}' belongs to flow '${stored.flowId}', not to flow '${engine.flowId}'; control it on its own flow`);
  }
  if (kind === "answer") await engine.inputs.validate(restoreStoredJob(stored, String(store)), String(args.routineId), String(args.slotName), args.data as Payload);
  const outcome = await sendCommand(store, { jobId, kind, args });
  const reason = typeof args.reason === "string" ? args.reason : "";
  if (outcome === "applied") return;
  const job = await store.loadJob(jobId);
  if (job === undefined) throw new JobStateError(`No job '${jobId}' in ${String(store)}`);
  switch (kind) {
    case "pause":
      if (job.status === "running") {
        throw new JobStateError(`Job '${jobId}' is running, but no live process holds it; recover it (flow.recover()) to run or pause it`);
      }
      return engine.control.pause(job, reason, undefined);
    case "cancel":
      return engine.control.cancel(job, reason);
    case "resume":
      engine.control.resume(job);
      return engine.attached(job);
    case "answer":
      await engine.control.answer(job, String(args.routineId), String(args.slotName), args.data as Payload);
      // Handed to the workers: done once its lease is released.
      return engine.attached(job);
  }
}

/** `flow.recover()`: carries on here the jobs of the flow that its store holds and no live process runs. @internal */
export function recoverHere(engine: Engine, store: JobStore | undefined, includePaused: boolean): Promise<JobState[]> {
  if (store === undefined) {
    return Promise.reject(new RoutiluxError(`Flow '${engine.flowId}' has no store to recover from; create it with new Flow({ store })`));
  }
  const adopt = (jobs: readonly JobStateCore[]): void => engine.control.adopt(jobs);
  return recoverJobs(store, engine.flowId, includePaused, adopt) as Promise<JobState[]>;
}

/** A flow's engine and store as a Worker drives them. @internal */
export function workerHost(engine: Engine, store: JobStore | undefined): WorkerHost {
  return {
    runsJobs: store !== undefined && !engine.handsOff,
    claim: (limit) => store === undefined
      ? Promise.resolve([])
      : recoverJobs(store, engine.flowId, false, (jobs) => engine.control.adopt(jobs), limit) as Promise<JobState[]>,
    wait: async (job) => {
      const outcome = await engine.wait(job, undefined, "wait");
      return outcome === "timeout" ? "released" : outcome;
    },
    handBack: (job) => engine.control.handBack(job),
  };
}
