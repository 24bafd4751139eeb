// The example flow files under examples/flows, loaded with loadFlowFile from their files and run
// as a user would: an ETL pipeline, an agent-style flow with a join and an approval, and a router.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { SimulatedClock, loadFlowFile, type Flow, type Payload } from "../../src/index.js";
import { exampleRegistry } from "../../examples/flows/routines.js";

const file = (name: string): string => fileURLToPath(new URL(`../../examples/flows/${name}`, import.meta.url));

const flows: Flow[] = [];
afterEach(async () => {
  await Promise.allSettled(flows.splice(0).map((f) => f.shutdown()));
});

async function load(name: string, clock?: SimulatedClock): Promise<Flow> {
  const flow = await loadFlowFile(file(name), exampleRegistry(), clock === undefined ? {} : { clock });
  flows.push(flow);
  return flow;
}

describe("examples/flows/etl.yaml", () => {
  const records = [
    { name: "Ada", email: "  ADA@Example.com ", age: 36 },
    { name: "", email: "nobody@example.com" },
    { name: "Grace", email: "Grace@Example.COM", age: 17 },
    { name: "Linus", age: 54 },
    { name: "Barbara", email: "barbara@example.com" },
  ];

  it("validates, cleans and loads the valid records in batches; the rest are rejected", async () => {
    const clock = new SimulatedClock();
    const flow = await load("etl.yaml", clock);
    expect(flow.flowId).toBe("etl-customers");
    const job = await flow.start("extract", { entryParams: { records } });
    await clock.advance(0);
    // Two full batches of two would need four valid records; the third waits for flushAfterMs.
    expect(job.status).toBe("running");
    expect(job.getSharedData<Payload[]>("loaded")).toEqual([{
      items: [
        { name: "Ada", email: "ada@example.com", adult: true },
        { name: "Grace", email: "grace@example.com", adult: false },
      ],
      count: 2,
      batchNumber: 1,
      reason: "size",
    }]);
    await clock.advance(1000);
    const result = await job.result();
    expect(result.status).toBe("completed");
    expect(job.getSharedData<Payload[]>("loaded")[1]).toEqual({
      items: [{ name: "Barbara", email: "barbara@example.com", adult: false }],
      count: 1,
      batchNumber: 2,
      reason: "timeout",
    });
    expect(job.getSharedData<Payload[]>("rejected")).toEqual([
      { errors: ["Field 'name' failed not_empty: got `\"\"` (string)"], data: { name: "", email: "nobody@example.com" } },
      { errors: ["Required field 'email' is missing"], data: { name: "Linus", age: 54 } },
    ]);
  });
});

describe("examples/flows/agent.yaml", () => {
  it("fans out to two personas, joins their parsed answers, and waits for approval before publishing", async () => {
    const flow = await load("agent.yaml");
    const job = await flow.start("plan", { entryParams: { topic: "routilux" } });
    const paused = await job.result();
    expect(paused).toMatchObject({
      status: "paused",
      waitingFor: [{ routineId: "approve", slotName: "answer", prompt: "Publish the brief on routilux? The critic says: revise" }],
    });
    const joined = job.executionHistory.find((r) => r.routineId === "join" && r.eventName === "aggregated")!.data;
    expect(joined).toMatchObject({ count: 2, partial: false, missing: [] });
    await flow.answer(job, "approve", "answer", { approved: true, comment: "ship it" });
    const result = await job.result();
    expect(result.status).toBe("completed");
    expect(job.getSharedData("published")).toEqual([{
      data: {
        answer: { approved: true, comment: "ship it" },
        request: {
          prompt: "Publish the brief on routilux? The critic says: revise",
          findings: ["routilux is used widely", "routilux has a small core", "routilux is easy to test"],
          concerns: ["the claims about routilux need sources", "the summary is too long"],
        },
      },
      route: "publish",
    }]);
    expect(job.getSharedData("revisions")).toBeUndefined();
  });

  it("sends a refused brief to revisions, and refuses an answer that does not fit the schema", async () => {
    const flow = await load("agent.yaml");
    const job = await flow.start("plan", { entryParams: { topic: "queues" } });
    await job.result();
    await expect(flow.answer(job, "approve", "answer", { approved: "no" })).rejects.toThrow(/does not fit its schema at 'approved'/);
    await flow.answer(job, "approve", "answer", { approved: false });
    expect((await job.result()).status).toBe("completed");
    expect(job.getSharedData<Payload[]>("revisions")).toHaveLength(1);
    expect(job.getSharedData("published")).toBeUndefined();
  });
});

describe("examples/flows/router.yaml", () => {
  it("sends each ticket to the queue of the first route that matches", async () => {
    const flow = await load("router.yaml");
    const items = [
      { id: 1, priority: "high", category: "bug", text: "crash" },
      { id: 2, category: "billing", text: "refund" },
      { id: 3, category: "bug", text: "the export drops the last row" },
      { id: 4, category: "bug", text: "odd" },
      { id: 5, category: "question", text: "how?", customer: { tier: "gold" } },
      { id: 6, category: "question", text: "where?" },
    ];
    const result = await flow.run("tickets", { entryParams: { items } });
    expect(result.status).toBe("completed");
    const ids = (key: string) => (result.status === "completed" ? (result.sharedData[key] as Payload[] | undefined) ?? [] : [])
      .map((m) => (m.data as { id: number }).id);
    expect(ids("urgent")).toEqual([1, 5]);
    expect(ids("billing")).toEqual([2]);
    expect(ids("bugs")).toEqual([3]);
    expect(ids("general")).toEqual([4, 6]);
  });
});
