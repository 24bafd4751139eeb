import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobState, SerializationError, SimulatedClock } from "../../src/index.js";
import { rejectionOf } from "../fixtures/testing.js";
import { RETRY_DELAY_MS, buildRichFlow, richPausedJob } from "./fixtures.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "routilux-save-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("JobState.save and JobState.load", () => {
  it("save writes the document as JSON, and load reads back the same job", async () => {
    const { job } = await richPausedJob();
    const path = join(dir, "job.json");
    await job.save(path);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual(job.serialize());
    const loaded = await JobState.load(path);
    expect(loaded).not.toBe(job);
    expect(loaded.serialize()).toEqual(job.serialize());
    // No temporary file is left next to it.
    expect(await readdir(dir)).toEqual(["job.json"]);
  });

  it("a loaded job resumes on a new flow instance and completes", async () => {
    const { job } = await richPausedJob();
    const path = join(dir, "job.json");
    await job.save(path);
    const clock = new SimulatedClock();
    const { flow } = buildRichFlow(clock);
    const loaded = await JobState.load(path);
    flow.resume(loaded);
    await clock.advance(RETRY_DELAY_MS);
    expect(await JobState.waitForCompletion(flow, loaded, { timeoutMs: 1000 })).toBe(true);
    expect(loaded.status).toBe("completed");
    expect(loaded.jobId).toBe(job.jobId);
  });

  it("save replaces an earlier file whole", async () => {
    const { job } = await richPausedJob();
    const path = join(dir, "job.json");
    await writeFile(path, "x".repeat(100_000));
    await job.save(path);
    expect((await JobState.load(path)).jobId).toBe(job.jobId);
  });

  it("save refuses state JSON cannot hold and leaves no file", async () => {
    const job = new JobState("f");
    const value: Record<string, unknown> = {};
    job.updateSharedData("n", value);
    value.big = 1n; // changed in place after it was written: only the document check can see it
    const path = join(dir, "job.json");
    const error = await rejectionOf(job.save(path));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe("sharedData.n.big");
    expect(await readdir(dir)).toEqual([]);
  });

  it("load of a file that is not JSON names the file", async () => {
    const path = join(dir, "broken.json");
    await writeFile(path, "{ not json");
    const error = await rejectionOf(JobState.load(path));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.message).toContain(path);
  });

  it("load of a malformed document names the field", async () => {
    const { job } = await richPausedJob();
    const doc = job.serialize() as unknown as Record<string, unknown>;
    doc.status = "asleep";
    const path = join(dir, "bad.json");
    await writeFile(path, JSON.stringify(doc));
    const error = await rejectionOf(JobState.load(path));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe("status");
  });

  it("load of a missing file rejects with the file system's error", async () => {
    const error = await rejectionOf(JobState.load(join(dir, "absent.json")));
    expect((error as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});
