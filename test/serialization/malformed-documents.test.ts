import { beforeAll, describe, expect, it } from "vitest";
import { JobState, RoutiluxError, SerializationError, type JobStateDocument } from "../../src/index.js";
import { thrownBy } from "../fixtures/testing.js";
import { richPausedJob } from "./fixtures.js";

type Json = Record<string, unknown>;

/** A deep copy of the base document, to break. */
let base: JobStateDocument;
const fresh = (): Json => JSON.parse(JSON.stringify(base)) as Json;

/** The object holding the last segment of a dotted path (`pendingTasks.0.attempt`), and that segment. */
function parentOf(doc: Json, path: string): [Record<string, unknown>, string] {
  const parts = path.split(".");
  const last = parts.pop()!;
  let node: unknown = doc;
  for (const part of parts) node = (node as Record<string, unknown>)[part];
  return [node as Record<string, unknown>, last];
}

const set = (path: string, value: unknown) => (doc: Json): unknown => {
  const [parent, key] = parentOf(doc, path);
  parent[key] = value;
  return doc;
};

const remove = (path: string) => (doc: Json): unknown => {
  const [parent, key] = parentOf(doc, path);
  delete parent[key];
  return doc;
};

const cyclic = (doc: Json): unknown => {
  const shared = doc.sharedData as Json;
  shared.self = shared;
  return doc;
};

/** [what is wrong, how to break the document, the path the error must name] */
const cases: Array<[string, (doc: Json) => unknown, string]> = [
  ["version is missing", remove("version"), "version"],
  ["version is a string", set("version", "1"), "version"],
  ["version is newer than this release", set("version", 99), "version"],
  ["kind is another document's", set("kind", "routilux.flow"), "kind"],
  ["jobId is empty", set("jobId", ""), "jobId"],
  ["jobId is a number", set("jobId", 42), "jobId"],
  ["flowId is null", set("flowId", null), "flowId"],
  ["status is unknown", set("status", "done"), "status"],
  ["createdAt is not a date", set("createdAt", "yesterday"), "createdAt"],
  ["updatedAt is missing", remove("updatedAt"), "updatedAt"],
  ["currentRoutineId is a number", set("currentRoutineId", 5), "currentRoutineId"],
  ["metadata is an array", set("metadata", ["a"]), "metadata"],
  ["checkpoint is a string", set("checkpoint", "step 3"), "checkpoint"],
  ["executionHistory is an object", set("executionHistory", {}), "executionHistory"],
  ["a history record has a bad timestamp", set("executionHistory.1.timestamp", "2025-13-45"), "executionHistory[1].timestamp"],
  ["a history record's data holds a function", set("executionHistory.0.data.callback", () => 1), "executionHistory[0].data.callback"],
  ["a history record lacks its eventName", remove("executionHistory.2.eventName"), "executionHistory[2].eventName"],
  ["a routine state is a string", set("routineStates.src", "completed"), "routineStates.src"],
  ["a pause point's reason is a number", set("pausePoints.0.reason", 7), "pausePoints[0].reason"],
  ["a deferred event has an empty eventName", set("deferredEvents.0.eventName", ""), "deferredEvents[0].eventName"],
  ["a pending task's attempt is 0", set("pendingTasks.0.attempt", 0), "pendingTasks[0].attempt"],
  ["a pending task's taskId is fractional", set("pendingTasks.1.taskId", 10.5), "pendingTasks[1].taskId"],
  ["a pending task's notBefore is not a date", set("pendingTasks.0.notBefore", "soon"), "pendingTasks[0].notBefore"],
  ["a pending task carries an unknown field", set("pendingTasks.0.closure", "fn"), "pendingTasks[0].closure"],
  ["two pending tasks share a taskId", set("pendingTasks.1.taskId", 10), "pendingTasks[1].taskId"],
  ["a pending task's taskId is not below nextTaskId", set("nextTaskId", 11), "pendingTasks[1].taskId"],
  ["a slot buffer lacks its slotName", remove("slotBuffers.0.slotName"), "slotBuffers[0].slotName"],
  ["shared data holds a BigInt, deep down", set("sharedData.items", ["a", { big: 10n }]), "sharedData.items[1].big"],
  ["shared data holds a cycle", cyclic, "sharedData.self"],
  ["shared data holds a Map", set("sharedData.index", new Map([["a", 1]])), "sharedData.index"],
  ["shared data holds a Date", set("sharedData.when", new Date(0)), "sharedData.when"],
  ["the shared log holds NaN", set("sharedLog.1", Number.NaN), "sharedLog[1]"],
  ["the shared log holds undefined", set("sharedLog.1", undefined), "sharedLog[1]"],
  ["an output record lacks its outputType", remove("outputLog.0.outputType"), "outputLog[0].outputType"],
  ["nextTaskId is 0", set("nextTaskId", 0), "nextTaskId"],
  ["timeoutMs is negative", set("timeoutMs", -5), "timeoutMs"],
  ["runningMs is a string", set("runningMs", "12"), "runningMs"],
  ["an unknown top-level field", set("extra", true), "extra"],
  ["the document is null", () => null, ""],
  ["the document is an array", () => [], ""],
  ["the document is a string", () => "{\"version\":1}", ""],
];

describe("malformed JobStateDocuments", () => {
  beforeAll(async () => {
    base = (await richPausedJob()).job.serialize();
  });

  it("the table is large and its base document is valid", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(() => JobState.fromDocument(fresh())).not.toThrow();
  });

  it.each(cases)("rejects a document where %s, naming the field, and leaves the target unchanged", (_what, breakIt, path) => {
    const target = JobState.fromDocument(fresh());
    target.updateSharedData("target-only", { kept: true });
    target.appendToSharedLog("target entry");
    const before = target.serialize();

    const error = thrownBy(() => target.deserialize(breakIt(fresh())));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error).toBeInstanceOf(RoutiluxError);
    expect(error.name).toBe("SerializationError");
    expect((error as SerializationError).path).toBe(path);
    expect(error.message).toContain(path === "" ? "(document)" : `'${path}'`);
    expect(error.message).toMatch(/JobStateDocument/);
    expect(target.serialize()).toEqual(before);

    // fromDocument and load read documents the same way.
    const again = thrownBy(() => JobState.fromDocument(breakIt(fresh())));
    expect((again as SerializationError).path).toBe(path);
  });

  it("says what it expected and what it got", () => {
    const error = thrownBy(() => JobState.fromDocument(set("status", "done")(fresh())));
    expect(error.message).toContain("\"paused\"");
    expect(error.message).toContain("got \"done\"");
    const missing = thrownBy(() => JobState.fromDocument(remove("updatedAt")(fresh())));
    expect(missing.message).toContain("missing");
    const newer = thrownBy(() => JobState.fromDocument(set("version", 99)(fresh())));
    expect(newer.message).toMatch(/version 99 is newer .*upgrade routilux/);
    const bigint = thrownBy(() => JobState.fromDocument(set("sharedData.items", ["a", { big: 10n }])(fresh())));
    expect(bigint.message).toContain("BigInt");
    const extra = thrownBy(() => JobState.fromDocument(set("pendingTasks.0.closure", "fn")(fresh())));
    expect(extra.message).toContain("unknown field 'closure'");
  });
});

describe("state that JSON cannot hold", () => {
  it.each<[string, (job: JobState) => void, string, RegExp]>([
    ["a cycle in shared data", (job) => {
      const node: Json = { name: "root" };
      node.child = { parent: node };
      job.updateSharedData("tree", node);
    }, "sharedData.tree.child.parent", /cycle/],
    ["a function in a routine state", (job) => job.updateRoutineState("src", { status: "completed", callback: () => 1 }), "routineStates.src.callback", /function/],
    ["a BigInt in metadata", (job) => {
      job.metadata = { count: 12n };
    }, "metadata.count", /BigInt 12n/],
    ["a BigInt in the shared log", (job) => job.appendToSharedLog({ ok: [1, 2n] }), "sharedLog.ok[1]", /BigInt/],
    ["a Map in an output", (job) => job.sendOutput("src", "result", { index: new Map() }), "data.index", /Map/],
    ["a symbol in a deferred event", (job) => job.addDeferredEvent("src", "out", { tag: Symbol("x") }), "data.tag", /symbol/],
    ["Infinity in the checkpoint", (job) => {
      job.checkpoint = { ratio: Infinity };
    }, "checkpoint.ratio", /Infinity/],
    ["a Date in shared data", (job) => job.updateSharedData("when", new Date(0)), "sharedData.when", /Date.*toISOString/],
    ["undefined in a list", (job) => job.updateSharedData("list", [1, undefined]), "sharedData.list[1]", /undefined in an array/],
  ])("%s is refused where it is written, naming the path, and the job is unchanged", (_what, spoil, path, what) => {
    const job = new JobState("f");
    const before = job.serialize();
    const error = thrownBy(() => spoil(job));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe(path);
    expect(error.message).toContain(`'${path}'`);
    expect(error.message).toMatch(what);
    expect(error.message).toContain(job.jobId);
    expect(job.serialize()).toEqual({ ...before, updatedAt: job.serialize().updatedAt });
  });

  it("a value changed in place after it was written is still caught when the job is serialized", () => {
    const job = new JobState("f");
    const loop: Json = {};
    job.updateSharedData("loop", loop);
    loop.self = loop;
    const error = thrownBy(() => job.serialize());
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe("sharedData.loop.self");
    job.updateSharedData("loop", { self: "fixed" });
    expect(job.serialize().sharedData).toEqual({ loop: { self: "fixed" } });
  });

  it("undefined object members are dropped, as JSON drops them", () => {
    const job = new JobState("f");
    job.updateSharedData("a", { kept: 1, dropped: undefined });
    expect(job.serialize().sharedData).toEqual({ a: { kept: 1 } });
  });
});
