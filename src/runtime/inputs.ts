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
import type { TaskContext } from "./activation.js";
import type { JobRun } from "./job-run.js";
import { isFinal } from "./lifecycle.js";
import { checkJsonSchema, checkStandard, compileJsonSchema, isStandardSchema, toJsonSchema } from "./validation.js";

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

/**
 * Whether the job's last word on `routineId.slotName` is an answer: it was answered (or its group
 * was) since it last asked. A further answer then is a second answer to a question already
 * answered, not an early answer to the next one.
 */
function answeredSinceAsked(job: JobStateCore, routineId: string, slotName: string): boolean {
  const history = job.executionHistory;
  const answeredGroups = new Set<string>();
  for (let i = history.length - 1; i >= 0; i--) {
    const record = history[i]!;
    if (record.routineId !== routineId) continue;
    const slot = record.data.slot;
    const group = typeof record.data.group === "string" ? record.data.group : undefined;
    if (record.eventName === "answered") {
      if (slot === slotName) return true;
      if (group !== undefined) answeredGroups.add(group);
    } else if (record.eventName === "waiting" && slot === slotName) {
      return group !== undefined && answeredGroups.has(group);
    }
  }
  return false;
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
      // Refused now, in the handler that asks, rather than leaving the job waiting for an answer no schema can check.
      if (json !== undefined) compileJsonSchema(json, `waitForInput('${slot}') in routine '${ctx.routineId}'`);
    }
    const wait: WaitRequest = {
      routineId: ctx.routineId,
      slotName: slot,
      ...(prompt === undefined ? {} : { prompt }),
      ...(json === undefined ? {} : { schema: json }),
      ...(group === undefined ? {} : { group }),
    };
    // A Standard Schema is checked in this process too: its JSON form may not say everything (a refinement).
    if (schema !== undefined && isStandardSchema(schema)) inProcessSchemas.set(wait, schema);
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
        const refused = this.#refusal(job, wait, answer!.data);
        if (refused === undefined) {
          this.#deliver(run, wait, answer!.data, true);
          if (wait.group !== undefined) answeredGroups.add(wait.group);
          continue;
        }
        // An early answer that does not fit the request's schema is dropped (the history says why); the job waits.
        job.pushRecord(wait.routineId, "answer_refused", { slot: wait.slotName, error: refused }, now);
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

  /**
   * Checks an answer before anything changes: the routine and slot exist, the data is plain JSON and
   * fits the schemas. Returns the data to deliver: the slot schema's output (its defaults and
   * transforms applied), else the request schema's, else the data.
   */
  async validate(job: JobStateCore, routineId: string, slotName: string, data: Payload): Promise<Payload> {
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
    let value: unknown = data;
    const wait = job[kJobData].waitingFor?.find((w) => same(w, routineId, slotName));
    if (wait?.schema !== undefined) checkJsonSchema(wait.schema, data, where);
    const inProcess = wait === undefined ? undefined : inProcessSchemas.get(wait);
    if (inProcess !== undefined) value = await checkStandard(inProcess, data, where);
    if (slot.schema !== undefined) value = await checkStandard(slot.schema, data, where);
    if (value !== data) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new RoutiluxError(`The schema of ${where} turned the answer into ${showValue(value)}; a slot receives a plain object`);
      }
      checkJsonValue(value, `${where}, as its schema gave it`, "data");
    }
    return value as Payload;
  }

  /** Why an answer kept early does not fit the request it answers (undefined when it fits). */
  #refusal(job: JobStateCore, wait: WaitRequest, data: Payload): string | undefined {
    const where = `the answer to '${wait.routineId}.${wait.slotName}' of job '${job.jobId}'`;
    try {
      if (wait.schema !== undefined) checkJsonSchema(wait.schema, data, where);
      const inProcess = inProcessSchemas.get(wait);
      if (inProcess !== undefined) checkStandard(inProcess, data, where, true);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
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
    const waited = waits?.find((w) => same(w, routineId, slotName));
    if (waited === undefined && answeredSinceAsked(job, routineId, slotName)) {
      throw new JobStateError(
        `Job '${job.jobId}' no longer waits for input on '${routineId}.${slotName}': it was answered already; it waits for: ${describeWaits(waits)}`,
      );
    }
    if (waits !== undefined && waits.length > 0) {
      const wait = waits.find((w) => same(w, routineId, slotName));
      if (wait === undefined) {
        throw new RoutiluxError(
          `Job '${job.jobId}' does not wait for input on '${routineId}.${slotName}'; it waits for: ${describeWaits(waits)}`,
        );
      }
      const left = waits.filter((w) => w !== wait && (wait.group === undefined || w.group !== wait.group));
      jobData.waitingFor = left.length > 0 ? left : undefined;
      this.#deliver(run, wait, data, false);
      job.jobFieldsChanged();
      return left.length === 0;
    }
    (jobData.earlyAnswers ??= []).push({ routineId, slotName, data });
    job.pushRecord(routineId, "answer_kept", { slot: slotName }, this.#engine.clock.now());
    job.jobFieldsChanged();
    return false;
  }

  /** Delivers an answer as one activation of its slot. */
  #deliver(run: JobRun, wait: WaitRequest, data: Payload, early: boolean): void {
    const details: Payload = { slot: wait.slotName };
    if (wait.group !== undefined) details.group = wait.group;
    if (early) details.early = true;
    run.job.pushRecord(wait.routineId, "answered", details, this.#engine.clock.now());
    this.#engine.queueTasks(run, [{ taskId: 0, routineId: wait.routineId, slotName: wait.slotName, data, attempt: 1 }]);
  }
}
