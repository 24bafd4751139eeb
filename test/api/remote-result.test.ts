// The result of a job run by workers elsewhere is followed in the store: a store that cannot be
// read for a moment is read again; a failure that lasts is the caller's.
import { describe, expect, it } from "vitest";
import { Flow, MemoryJobStore, StoreError } from "../../src/index.js";
import { restInStore } from "../../src/api/remote-result.js";
import { routine } from "../fixtures/testing.js";

describe("following a job in the store", () => {
  it("reads again through a short outage and resolves with the job at rest", async () => {
    const store = new MemoryJobStore();
    const flow = new Flow({ flowId: "followed", store });
    flow.addRoutine(routine({ trigger: (_data, ctx) => ctx.shared.set("done", true) }), "r");
    const result = await flow.run("r");
    let failures = 2;
    const flaky = Object.create(store) as MemoryJobStore;
    flaky.readJob = (jobId: string) => (failures-- > 0
      ? Promise.reject(new StoreError("connection terminated (57P01)"))
      : store.readJob(jobId));
    const job = await restInStore(flaky, result.jobId, 5_000);
    expect(job.status).toBe("completed");
    expect(job.sharedData).toEqual({ done: true });
    expect(failures).toBeLessThan(0);
    await flow.shutdown();
    await store.close();
  });

  it("an error that is not the store's is not retried", async () => {
    const store = new MemoryJobStore();
    const broken = Object.create(store) as MemoryJobStore;
    broken.readJob = () => Promise.reject(new TypeError("a bug"));
    await expect(restInStore(broken, "any", 1_000)).rejects.toThrow(TypeError);
    await store.close();
  });
});
