// TimeProvider: the flow's clock, in milliseconds, formatted in a time zone and a locale.
import { afterEach, describe, expect, it } from "vitest";
import { FlowDefinitionError, SimulatedClock, TimeProvider } from "../../src/index.js";
import { closeAll, emitted, runOnce } from "./helpers.js";

afterEach(closeAll);

// Wednesday 2025-01-01 09:05:07.250 UTC.
const NOW = Date.UTC(2025, 0, 1, 9, 5, 7, 250);

function provider(config: Record<string, unknown> = {}): TimeProvider {
  const r = new TimeProvider();
  r.setConfig(config);
  return r;
}

async function tell(config: Record<string, unknown>, message: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const job = await runOnce(provider(config), message, { clock: new SimulatedClock(NOW) });
  return emitted(job)[0]!;
}

describe("TimeProvider", () => {
  it("gives the flow clock's time: ISO in UTC by default, the timestamp in milliseconds", async () => {
    expect(await tell({})).toEqual({
      timeString: "2025-01-01T09:05:07.250Z",
      timestamp: NOW,
      datetime: "2025-01-01T09:05:07.250Z",
      formatted: "2025-01-01 09:05:07",
    });
  });

  it("formats in a time zone, with strftime directives", async () => {
    const out = await tell({ format: "custom", customFormat: "%A %d %B %Y, %I:%M %p (%z %Z) day %j %%", timeZone: "America/New_York" });
    expect(out.timeString).toBe("Wednesday 01 January 2025, 04:05 AM (-0500 America/New_York) day 001 %");
    expect(out.datetime).toBe("2025-01-01T04:05:07.250-05:00");
    expect(out.timestamp).toBe(NOW);
  });

  it("formats for people in a locale, and as a timestamp string", async () => {
    expect((await tell({ format: "formatted", locale: "zh_CN", timeZone: "Asia/Shanghai" })).timeString).toMatch(/^2025年1月1日星期三 17:05:07$/);
    expect((await tell({ format: "formatted", includeWeekday: false })).timeString).toBe("January 1, 2025 at 09:05:07");
    expect((await tell({ format: "timestamp" })).timeString).toBe(String(NOW));
  });

  it("takes a format from the message, on any of its slots", async () => {
    expect((await tell({}, { data: { format: "timestamp" } })).timeString).toBe(String(NOW));
    const r = provider();
    expect([...r.slots.keys()]).toEqual(["request", "input", "trigger"]);
    const job = await runOnce(provider(), { format: "weekly" }, { clock: new SimulatedClock(NOW) });
    expect(job.status).toBe("failed");
  });

  it("refuses an unknown time zone, locale or format when configured", () => {
    expect(() => provider({ timeZone: "Mars/Olympus" })).toThrow(/^Expected `timeZone` of TimeProvider to be an IANA time zone/);
    expect(() => provider({ locale: "not a locale!" })).toThrow(FlowDefinitionError);
    expect(() => provider({ format: "unix" })).toThrow(/one of: iso, formatted, timestamp, custom/);
  });
});
