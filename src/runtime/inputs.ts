import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Flow } from "../api/flow.js";
import type { Clock } from "../core/clock.js";
import type { PendingTask } from "../state/task.js";
import { JobStateError, RoutiluxError, listChoices, showValue } from "../core/errors.js";
import { checkJsonValue, findNonJson } from "../core/json-value.js";
import type { Payload } from "../core/slot.js";
import { kJobData } from "../state/job-data.js";
import type { JobStateCore } from "../state/job-state.js";
import type { WaitRequest } from "../state/write-set.js";
import type { JobRun, TaskContext } from "./activation.js";
import { isFinal } from "./lifecycle.js";
import { checkJsonSchema, checkStandard, isStandardSchema, toJsonSchema } from "./validation.js";

/** What the inputs need from the engine. @internal */
export interface InputsHost {
  readonly flow: Flow;
  readonly clock: Clock;
  /** Queues tasks outside any activation (an answer's delivery). */
  queueTasks(run: JobRun, tasks: readonly PendingTask[]): void;
  /** Pauses a running job (it waits for input). */
  pauseRun(run: JobRun, by: string, reason: string, checkpoint: Payload | undefined, details?: Payload): void;
}

/** Standard Schemas that have no JSON form, kept in this process for the requests that gave them. */
const inProcessSchemas = new WeakMap<WaitRequest, StandardSchemaV1>();

function same(w: { routineId: string; slotName: string }, routineId: string, slotName: string): boolean {
  return w.routineId === routineId && w.slotName === slotName;
}

function describeWaits(waits: readonly WaitRequest[] | undefined): string {
  return waits === undefined || waits.length === 0 ? "nothing" : waits.map((w) => `${w.routineId}.${w.slotName}`).join(", ");
}

/**
 * Human input: a handler's `ctx.waitForInput` requests, the job's pause while it waits, and
 * `flow.answer`, which delivers an answer as one activation of the slot and resumes the job once
 * nothing else is waited for. An answer that arrives before its request is kept in the job and
 * delivered when the request comes. Requests sharing a `group` are alternatives.
 * @internal
 */
export class Inputs {
  readonly #engine: InputsHost;

  constructor(engine: InputsHost) {
    this.#engine = engine;
  }

  /** `ctx.waitForInput`: checks the request and adds it to the activation (it takes effect if the handler succeeds). */
  request(ctx: TaskContext, request: { slot: string; prompt?: string; schema?: object; group?: string }): void {
    if (typeof request !== "object" || request === null) {
      throw new RoutiluxError(`waitForInput in routine '${ctx.routineId}' expects { slot, prompt?, schema?, group? }, got ${showValue(request)}`);
    }
    const { slot, prompt, schema, group } = request;
    if (typeof slot !== "string" || ctx.routine.getSlot(slot) === undefined) {
      throw new RoutiluxError(
        `waitForInput in routine '${ctx.routineId}' names slot ${showValue(slot)}, which the routine lacks; ` +
        `its slots are: ${listChoices(String(slot), ctx.routine.slots.keys())}`,
      );
    }
    if (prompt !== undefined && typeof prompt !== "string") throw new RoutiluxError(`Expected \`prompt\` of waitForInput to be a string, got ${showValue(prompt)}`);
    if (group !== undefined && typeof group !== "string") throw new RoutiluxError(`Expected \`group\` of waitForInput to be a string, got ${showValue(group)}`);
    let json: Record<string, unknown> | undefined;
    if (schema !== undefined) {
      if (typeof schema !== "object" || schema === null) throw new RoutiluxError(`Expected \`schema\` of waitForInput to be a schema object, got ${showValue(schema)}`);
      json = toJsonSchema(schema);
      if (json !== undefined && findNonJson(json, true) !== undefined) {
        throw new RoutiluxError(`The \`schema\` of waitForInput in routine '${ctx.routineId}' is neither JSON Schema (plain JSON) nor a Standard Schema`);
      }
    }
    const wait: WaitRequest = {
      routineId: ctx.routineId,
      slotName: slot,
      ...(prompt === undefined ? {} : { prompt }),
      ...(json === undefined ? {} : { schema: json }),
      ...(group === undefined ? {} : { group }),
    };
    if (schema !== undefined && json === undefined && isStandardSchema(schema)) inProcessSchemas.set(wait, schema);
    ctx.addWait(wait);
  }

  /** An activation that asked for input succeeded: early answers are delivered, the rest waited for (the job pauses). */
  asked(run: JobRun, waits: readonly WaitRequest[]): void {
    const job = run.job;
    const data = run.data;
    const now = this.#engine.clock.now();
    const answeredGroups = new Set<string>();
    for (const wait of waits) {
      if (wait.group !== undefined && answeredGroups.has(wait.group)) continue;
      const at = data.earlyAnswers?.findIndex((a) => same(a, wait.routineId, wait.slotName)) ?? -1;
      if (at >= 0) {
        const [answer] = data.earlyAnswers!.splice(at, 1);
        if (data.earlyAnswers!.length === 0) data.earlyAnswers = undefined;
        this.#deliver(run, wait.routineId, wait.slotName, answer!.data, true);
        if (wait.group !== undefined) answeredGroups.add(wait.group);
        continue;
      }
      data.waitingFor = (data.waitingFor ?? []).filter((w) => !same(w, wait.routineId, wait.slotName));
      data.waitingFor.push(wait);
      const details: Payload = { slot: wait.slotName };
      if (wait.prompt !== undefined) details.prompt = wait.prompt;
      if (wait.group !== undefined) details.group = wait.group;
      job.pushRecord(wait.routineId, "waiting", details, now);
    }
    if (answeredGroups.size > 0 && data.waitingFor !== undefined) {
      data.waitingFor = data.waitingFor.filter((w) => w.group === undefined || !answeredGroups.has(w.group));
    }
    if (data.waitingFor?.length === 0) data.waitingFor = undefined;
    job.jobFieldsChanged();
    const first = data.waitingFor?.[0];
    if (first !== undefined && job.status === "running") {
      this.#engine.pauseRun(run, first.routineId, "waiting for input", undefined, { waitingFor: data.waitingFor!.map((w) => `${w.routineId}.${w.slotName}`) });
    }
  }

  /** Checks an answer before anything changes: the routine and slot exist, the data is plain JSON and fits the schemas. */
  async validate(job: JobStateCore, routineId: string, slotName: string, data: Payload): Promise<void> {
    if (isFinal(job.status)) throw new JobStateError(`Cannot answer job '${job.jobId}': it has ended (${job.status})`);
    const flow = this.#engine.flow;
    const routine = flow.getRoutine(routineId);
    if (routine === undefined) {
      throw new RoutiluxError(`Cannot answer job '${job.jobId}': flow '${flow.flowId}' has no routine '${routineId}'; its routines are: ${listChoices(routineId, flow.routines.keys())}`);
    }
    const slot = routine.getSlot(slotName);
    if (slot === undefined) {
      throw new RoutiluxError(`Cannot answer job '${job.jobId}': routine '${routineId}' has no slot '${slotName}'; its slots are: ${listChoices(slotName, routine.slots.keys())}`);
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new RoutiluxError(`The answer to '${routineId}.${slotName}' must be a plain object, got ${showValue(data)}`);
    }
    const where = `the answer to '${routineId}.${slotName}' of job '${job.jobId}'`;
    checkJsonValue(data, where, "data");
    const wait = job[kJobData].waitingFor?.find((w) => same(w, routineId, slotName));
    if (wait?.schema !== undefined) checkJsonSchema(wait.schema, data, where);
    const inProcess = wait === undefined ? undefined : inProcessSchemas.get(wait);
    if (inProcess !== undefined) await checkStandard(inProcess, data, where);
    if (slot.schema !== undefined) await checkStandard(slot.schema, data, where);
  }

  /**
   * Applies a checked answer to a job attached here. Returns true when the job waited for it and
   * waits for nothing more (the caller resumes it). A waiting job refuses an answer it does not
   * wait for; a job that waits for nothing yet keeps the answer for later.
   */
  answer(run: JobRun, routineId: string, slotName: string, data: Payload): boolean {
    const job = run.job;
    const jobData = run.data;
    const waits = jobData.waitingFor;
    if (isFinal(job.status)) throw new JobStateError(`Cannot answer job '${job.jobId}': it has ended (${job.status})`);
    if (waits !== undefined && waits.length > 0) {
      const wait = waits.find((w) => same(w, routineId, slotName));
      if (wait === undefined) {
        throw new RoutiluxError(
          `Job '${job.jobId}' does not wait for input on '${routineId}.${slotName}'; it waits for: ${describeWaits(waits)}`,
        );
      }
      const left = waits.filter((w) => w !== wait && (wait.group === undefined || w.group !== wait.group));
      jobData.waitingFor = left.length > 0 ? left : undefined;
      this.#deliver(run, routineId, slotName, data, false);
      job.jobFieldsChanged();
      return left.length === 0;
    }
    (jobData.earlyAnswers ??= []).push({ routineId, slotName, data });
    job.pushRecord(routineId, "answer_kept", { slot: slotName }, this.#engine.clock.now());
    job.jobFieldsChanged();
    return false;
  }

  /** Delivers an answer as one activation of its slot. */
  #deliver(run: JobRun, routineId: string, slotName: string, data: Payload, early: boolean): void {
    run.job.pushRecord(routineId, "answered", early ? { slot: slotName, early: true } : { slot: slotName }, this.#engine.clock.now());
    this.#engine.queueTasks(run, [{ taskId: 0, routineId, slotName, data, attempt: 1 }]);
  }
}
