// Synchronous handlers that take a few milliseconds each do not hold timers back: a handler that
// took a millisecond or more has the scheduler's time slice checked at once (not after 32 more),
// so a job timeout or an unrelated setTimeout waits a few handler runs, not a hundred.
import { describe, expect, it } from "vitest";
import { Flow } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";

/** Keeps the thread busy for `ms` of wall time, as a parser or a hash would. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("timers beside synchronous handlers of a few milliseconds", () => {
  it("a 40 ms executionTimeoutMs and a setTimeout(0) fire within a few handler runs, not after a hundred", async () => {
    // Each handler runs at least 4 ms of wall time, so by 40 ms at most 10 have run (fewer under
    // load); a slice or two of 8 ms allows a few more. Seen: 127 runs (over 500 ms) before either fires.
    const flow = new Flow({ flowId: "slow-sync", executionTimeoutMs: 40 });
    let runs = 0;
    let runsWhenTimerFired = -1;
    flow.addRoutine(routine({
      trigger: (_data, _ctx, self) => self.emit("again", {}),
      input: (_data, _ctx, self) => {
        runs++;
        busy(4);
        self.emit("again", {});
      },
    }, ["again"]), "loop");
    flow.connect("loop", "again", "loop", "input");
    const job = flow.execute("loop");
    setTimeout(() => {
      runsWhenTimerFired = runs;
    }, 0);
    const result = await job.result();
    expect(result.status).toBe("failed");
    expect(runsWhenTimerFired).toBeLessThanOrEqual(8);
    expect(runs).toBeLessThanOrEqual(16);
  });
});
