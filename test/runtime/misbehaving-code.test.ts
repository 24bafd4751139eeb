// User code that misbehaves (a callback a failed attempt left behind, a merge function or a store
// that returns what it must not, async callbacks that reject) gets a clear error naming the
// culprit, and never crashes the process or changes a job behind its back.
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  CallbackOutputHandler,
  ErrorHandler,
  ErrorStrategy,
  Flow,
  JobState,
  MemoryJobStore,
  RoutiluxError,
  SerializationError,
  type CommitBatch,
  type CommitResult,
} from "../../src/index.js";
import { routine, sleep } from "../fixtures/testing.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Collects process warnings while `body` runs. */
async function warningsDuring(body: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.message);
  process.on("warning", onWarning);
  try {
    await body();
    await sleep(5);
  } finally {
    process.off("warning", onWarning);
  }
  return warnings;
}

describe("leftovers of a failed attempt", () => {
  it("a callback a failed attempt left behind can neither write to the job nor emit; the retry's work alone counts", async () => {
    const refusals: string[] = [];
    const flow = new Flow({ flowId: "late-writes" });
    let attempts = 0;
    flow.addRoutine(routine({
      trigger: (_data, ctx, self) => {
        attempts++;
        if (ctx.attempt === 1) {
          setTimeout(() => {
            for (const write of [
              () => ctx.shared.set("late", 1),
              () => ctx.jobState.appendToSharedLog("late"),
              () => ctx.sendOutput("late", { late: 1 }),
              () => self.emit("out", { late: 1 }),
            ]) {
              try {
                write();
              } catch (error) {
                refusals.push((error as Error).message);
              }
            }
          }, 10);
          throw new Error("first attempt fails");
        }
        ctx.shared.set("done", ctx.attempt);
      },
    }, ["out"]), "step");
    flow.addRoutine(routine({ input: (data, ctx) => ctx.jobState.appendToSharedLog(data) }), "sink");
    flow.connect("step", "out", "sink", "input");
    flow.getRoutine("step")!.setErrorHandler(new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 2, retryDelayMs: 40 }));
    const job = flow.execute("step");
    const result = await job.result();
    await sleep(20);
    expect(attempts).toBe(2);
    expect(result.status).toBe("completed");
    expect(job.sharedData).toEqual({ done: 2 });
    expect(job.sharedLog).toEqual([]);
    expect(job.outputLog).toEqual([]);
    expect(refusals).toHaveLength(4);
    for (const message of refusals) {
      expect(message).toMatch(/Routine 'step' \(attempt 1\) of job '.*' failed, so its writes were discarded/);
    }
  });
});

describe("values JSON cannot hold", () => {
  it("a merge function that returns a BigInt fails its activation, naming the value, with or without a store", async () => {
    for (const store of [undefined, new MemoryJobStore()]) {
      const flow = new Flow({ flowId: "merge-bigint", ...(store === undefined ? {} : { store }) });
      flow.addRoutine(routine({
        trigger: { handler: () => undefined, mergeStrategy: (previous, incoming) => ({ ...previous, ...incoming, big: 10n }) },
      }), "m");
      const result = await flow.run("m", { entryParams: { n: 1 } });
      expect(result.status).toBe("failed");
      if (result.status !== "failed") throw new Error("unreachable");
      expect(result.error.message).toMatch(/merged\.big/);
      await flow.shutdown();
      await store?.close();
    }
  });

  it("appendToSharedLog(undefined) is refused (JSON cannot hold it), in a handler and outside", async () => {
    const job = new JobState("f");
    expect(() => job.appendToSharedLog(undefined)).toThrow(SerializationError);
    expect(() => job.appendToSharedLog(undefined)).toThrow(/undefined, which JSON cannot hold \(use null\)/);
    const flow = new Flow({ flowId: "log-undefined" });
    flow.addRoutine(routine({ trigger: (_data, ctx) => ctx.jobState.appendToSharedLog(undefined) }), "r");
    const result = await flow.run("r");
    expect(result.status).toBe("failed");
    expect(job.sharedLog).toEqual([]);
  });
});

describe("async callbacks that reject", () => {
  it("an async output handler that rejects is a process warning naming the job and output, never a crash", async () => {
    const flow = new Flow({ flowId: "async-output" });
    flow.addRoutine(routine({ trigger: (_data, ctx) => ctx.sendOutput("progress", { n: 1 }) }), "r");
    let job: JobState | undefined;
    const warnings = await warningsDuring(async () => {
      job = flow.execute("r", {
        outputHandler: new CallbackOutputHandler(async () => {
          await Promise.resolve();
          throw new Error("sink is down");
        }),
      });
      expect((await job.result()).status).toBe("completed");
    });
    expect(warnings.some((w) => w.includes(`job '${job!.jobId}'`) && w.includes("output 'progress'") && w.includes("sink is down"))).toBe(true);
  });
});

describe("a store that answers what no store may", () => {
  it("a commit() that resolves to undefined is a StoreError for the job, not a crash", async () => {
    class Broken extends MemoryJobStore {
      override commit(batch: CommitBatch): Promise<CommitResult> {
        return super.commit(batch).then(() => undefined as unknown as CommitResult);
      }
    }
    const store = new Broken();
    const flow = new Flow({ flowId: "broken-store", store });
    flow.addRoutine(routine({ trigger: () => undefined }), "r");
    const outcome = await flow.run("r").then(() => "resolved", (error: unknown) => error);
    expect(outcome).toBeInstanceOf(RoutiluxError);
    expect(String((outcome as Error).message)).toMatch(/commit\(\) resolved to undefined, not a CommitResult/);
    await flow.shutdown();
    await store.close();
  });

  it("a script awaiting a job whose store keeps failing is told why: the retries keep the process alive until the StoreError", async () => {
    await mkdir(join(root, ".tmp"), { recursive: true });
    const file = join(root, ".tmp", `failing-store-${process.pid}.mts`);
    await writeFile(file, [
      `import { Flow, MemoryJobStore, defineRoutine } from ${JSON.stringify(join(root, "src", "index.ts"))};`,
      "class FailingStore extends MemoryJobStore { override commit(): never { throw new Error(\"disk full\"); } }",
      "const flow = new Flow({ flowId: \"x\", store: new FailingStore() });",
      "flow.addRoutine(defineRoutine({ name: \"A\", slots: { trigger: () => {} }, events: {} }), \"a\");",
      "try { await flow.run(\"a\"); console.log(\"resolved\"); } catch (e) { console.log(`rejected: ${(e as Error).name}: ${(e as Error).message}`); }",
    ].join("\n"));
    try {
      const output = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        execFile(process.execPath, ["--import", "tsx", file], { cwd: root, timeout: 60_000 }, (error, stdout) =>
          resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout }));
      });
      expect(output.stdout).toMatch(/^rejected: StoreError: .*disk full/m);
      expect(output.code).toBe(0);
    } finally {
      await rm(file, { force: true });
    }
  });
});

describe("bad arguments", () => {
  it("an unknown job filter field, a bad event filter and cancelling a job that never started are refused, naming the culprit", async () => {
    const store = new MemoryJobStore();
    await expect(store.listJobs({ bogusKey: 1 } as never))
      .rejects.toThrow(/Unknown job filter field 'bogusKey'.*flowId, status, metadata, limit, cursor/);
    const flow = new Flow({ flowId: "args" });
    flow.addRoutine(routine({ trigger: () => undefined }), "r");
    expect(() => flow.events({ jobId: 5 as unknown as string })).toThrow(/`jobId` of an event filter to be a job id \(a string\), got 5/);
    await expect(flow.cancel(new JobState("args"))).rejects.toThrow(/has not started \(pending\)/);
    await store.close();
  });
});
