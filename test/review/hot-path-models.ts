// Seeded workloads of the hot-path promises: many jobs on one set of routines whose handlers end
// every way a handler can (attribution), and control calls made at random from handlers (chaos).
// Each returns the broken promises it saw, as readable strings; [] means every promise held.
import { ErrorHandler, ErrorStrategy, Flow, JobStateError, type HandlerContext, type JobState, type JobStore, type Routine } from "../../src/index.js";
import { routine, seededRandom, sleep } from "../fixtures/testing.js";

/** A Promise subclass: the engine must treat it as any other thenable. */
class TaggedPromise<T> extends Promise<T> {}

/**
 * 8 jobs of `split -> work -> sink` on a concurrent flow (4 workers), `work` retried. Each `work`
 * activation picks (by seed) how it ends: synchronously; async with awaits; returning a cached
 * resolved promise, Promise.resolve(), a promise made in another job's handler, a custom thenable
 * settled from a timer, a Promise subclass, or a subclass chain; a quarter of first attempts fail,
 * with an Error, a string, a number or a plain object. At every step the routine's context must be
 * this activation's job, and every job must end with exactly its own 10 writes of each kind.
 */
export async function attributionProblems(seed: number, store?: JobStore): Promise<string[]> {
  const random = seededRandom(seed);
  const items = 10;
  const flow = new Flow({ flowId: "attribution", executionStrategy: "concurrent", maxWorkers: 4, store });
  flow.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 3, retryDelayMs: 1 }));
  const cached = Promise.resolve();
  const foreign: Array<Promise<void>> = [];
  const problems: string[] = [];
  const check = (where: string, self: Routine, ctx: HandlerContext): void => {
    const seen = self.getExecutionContext()?.jobState;
    if (seen !== ctx.jobState) problems.push(`${where}: context of ${seen?.jobId ?? "none"} in job ${ctx.jobId}`);
  };
  flow.addRoutine(routine({
    trigger: (_data, ctx, self) => { for (let i = 0; i < items; i++) self.emit("item", { tag: ctx.jobId, i }); },
  }, ["item"]), "split");
  flow.addRoutine(routine({
    input: (data, ctx, self) => {
      const tag = data.tag as string;
      const i = data.i as number;
      const kind = Math.floor(random() * 9);
      const fail = ctx.attempt === 1 && random() < 0.25;
      const write = (where: string): void => {
        check(where, self, ctx);
        ctx.jobState.updateSharedData(`k${i}`, tag);
        ctx.jobState.appendToSharedLog({ tag, i });
        self.emit("done", { tag, i });
        self.sendOutput("o", { tag, i });
      };
      const end = (): void => {
        if (fail) throw [new Error("fails"), "a string", 42, { not: "an Error" }][kind % 4];
      };
      switch (kind) {
        case 0: write("sync"); end(); return;
        case 1: return (async () => {
          await sleep(random() * 3);
          write("async");
          await Promise.resolve();
          check("async, after an await", self, ctx);
          end();
        })();
        case 2: write("cached"); return fail ? Promise.reject(new Error("x")) : cached;
        case 3: write("Promise.resolve"); return fail ? Promise.reject(7) : Promise.resolve();
        case 4: {
          write("foreign");
          const other = foreign[Math.floor(random() * foreign.length)] ?? cached;
          return fail ? other.then(() => { throw { notAnError: true }; }) : other;
        }
        case 5: {
          let outcome: { ok: boolean; error?: unknown } | undefined;
          let waiting: [() => void, (e: unknown) => void] | undefined;
          const deliver = (ok: () => void, ko: (e: unknown) => void): void => (outcome!.ok ? ok() : ko(outcome!.error));
          setTimeout(() => {
            try {
              write("thenable");
              end();
              outcome = { ok: true };
            } catch (error) {
              outcome = { ok: false, error };
            }
            if (waiting !== undefined) deliver(...waiting);
          }, random() * 2);
          const then = (ok: () => void, ko: (e: unknown) => void): void => {
            if (outcome === undefined) waiting = [ok, ko];
            else deliver(ok, ko);
          };
          return { then } as unknown as Promise<void>;
        }
        case 6: return new TaggedPromise<void>((resolve, reject) => setImmediate(() => {
          try {
            write("Promise subclass");
            end();
            resolve();
          } catch (error) {
            reject(error);
          }
        }));
        case 7: {
          const made = sleep(random() * 3);
          foreign.push(made);
          return made.then(() => {
            write("promise shared with other jobs");
            end();
          });
        }
        default: return TaggedPromise.resolve().then(async () => {
          await Promise.resolve();
          write("subclass chain");
          end();
        });
      }
    },
  }, ["done"]), "work");
  const delivered = new Map<string, number>();
  flow.addRoutine(routine({
    input: (data, ctx) => {
      if (data.tag !== ctx.jobId) problems.push(`sink of ${ctx.jobId} got ${String(data.tag)}`);
      delivered.set(ctx.jobId, (delivered.get(ctx.jobId) ?? 0) + 1);
    },
  }), "sink");
  flow.connect("split", "item", "work", "input");
  flow.connect("work", "done", "sink", "input");
  const jobs = Array.from({ length: 8 }, () => flow.execute("split"));
  for (const job of jobs) await job.result({ timeoutMs: 20_000 });
  for (const job of jobs) {
    const id = job.jobId;
    const own = (entries: ReadonlyArray<{ data?: Record<string, unknown>; tag?: unknown }>): boolean =>
      entries.length === items && entries.every((e) => (e.data?.tag ?? e.tag) === id);
    if (job.status !== "completed") problems.push(`${id} ${job.status}`);
    for (let i = 0; i < items; i++) if (job.getSharedData(`k${i}`) !== id) problems.push(`${id} k${i} = ${String(job.getSharedData(`k${i}`))}`);
    if (!own(job.sharedLog as Array<{ tag: unknown }>)) problems.push(`${id} shared log ${JSON.stringify(job.sharedLog)}`);
    if (!own(job.executionHistory.filter((r) => r.eventName === "done"))) problems.push(`${id} done records`);
    if (!own(job.outputLog)) problems.push(`${id} outputs`);
    if (delivered.get(id) !== items) problems.push(`${id} sink ran ${delivered.get(id) ?? 0} times`);
  }
  await flow.shutdown();
  return problems;
}

/**
 * 5 jobs of 30 tasks each; a task's handler pauses, resumes or cancels a random job (its own or
 * another, without awaiting), mid-turn. Paused jobs are resumed from outside until all rest.
 * No task may run twice, a completed job must have run all 30, the worker bound must hold, and a
 * store must hold each job's final status.
 */
export async function controlChaosProblems(seed: number, options: { concurrent: boolean; store?: JobStore }): Promise<string[]> {
  const random = seededRandom(seed);
  const tasks = 30;
  const limit = options.concurrent ? 3 : 1;
  const flow = new Flow({ flowId: "chaos", store: options.store, executionStrategy: options.concurrent ? "concurrent" : "sequential", maxWorkers: limit });
  const jobs: JobState[] = [];
  const ran = new Map<string, number[]>();
  const calls: Array<Promise<unknown>> = [];
  let running = 0;
  let most = 0;
  const attempt = (call: () => unknown): void => {
    try {
      const outcome = call();
      if (outcome instanceof Promise) calls.push(outcome.catch(() => undefined));
    } catch (error) {
      if (!(error instanceof JobStateError)) throw error;
    }
  };
  flow.addRoutine(routine({ trigger: (_data, _ctx, self) => { for (let i = 0; i < tasks; i++) self.emit("item", { i }); } }, ["item"]), "src");
  flow.addRoutine(routine({
    input: (data, ctx) => {
      most = Math.max(most, ++running);
      ran.set(ctx.jobId, [...(ran.get(ctx.jobId) ?? []), data.i as number]);
      const roll = random();
      const target = jobs[Math.floor(random() * jobs.length)]!;
      if (roll < 0.1) attempt(() => ctx.flow.pause(target));
      else if (roll < 0.2) attempt(() => ctx.flow.resume(target));
      else if (roll < 0.23) attempt(() => ctx.flow.cancel(target));
      if (options.concurrent && random() < 0.3) return sleep(random() * 2).then(() => void running--);
      running--;
      return undefined;
    },
  }), "sink");
  flow.connect("src", "item", "sink", "input");
  for (let k = 0; k < 5; k++) jobs.push(flow.execute("src"));
  for (let round = 0; round < 50; round++) {
    await Promise.all(jobs.map((j) => j.result().catch(() => undefined)));
    await Promise.all(calls.splice(0));
    const paused = jobs.filter((j) => j.status === "paused");
    if (paused.length === 0 && jobs.every((j) => j.status !== "running")) break;
    for (const job of paused) attempt(() => flow.resume(job));
  }
  const problems: string[] = [];
  for (const job of jobs) {
    const list = ran.get(job.jobId) ?? [];
    if (new Set(list).size !== list.length) problems.push(`${job.jobId} ran a task twice: ${list.join(",")}`);
    if (job.status === "completed" && list.length !== tasks) problems.push(`${job.jobId} completed after ${list.length} tasks`);
    if (job.status !== "completed" && job.status !== "cancelled") problems.push(`${job.jobId} rests ${job.status}`);
    const stored = options.store === undefined ? undefined : await options.store.loadJob(job.jobId);
    if (options.store !== undefined && stored?.status !== job.status) problems.push(`${job.jobId} is ${job.status}, stored ${stored?.status}`);
  }
  if (most > limit) problems.push(`${most} handlers ran at once, maxWorkers ${limit}`);
  await flow.shutdown();
  return problems;
}
