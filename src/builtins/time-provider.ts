import type { HandlerContext } from "../core/context.js";
import { FlowDefinitionError, RoutiluxError, describeError } from "../core/errors.js";
import type { Payload } from "../core/slot.js";
import { BuiltinRoutine, valueOf } from "./builtin-routine.js";
import { ConfigReader, describe, isPlainObject } from "./config.js";

const FORMATS = ["iso", "formatted", "timestamp", "custom"] as const;
type TimeFormat = (typeof FORMATS)[number];

const KEYS = ["format", "customFormat", "includeWeekday", "locale", "timeZone"] as const;

interface TimeSettings {
  format: TimeFormat;
  customFormat: string;
  includeWeekday: boolean;
  locale: string;
  timeZone: string;
  parts: Intl.DateTimeFormat;
  formatted: Intl.DateTimeFormat;
}

function parse(config: Readonly<Record<string, unknown>>): TimeSettings {
  const read = new ConfigReader("TimeProvider", config, KEYS);
  const locale = read.string("locale", "en-US").replaceAll("_", "-");
  const timeZone = read.string("timeZone", "UTC");
  const includeWeekday = read.boolean("includeWeekday", true);
  let parts: Intl.DateTimeFormat;
  let formatted: Intl.DateTimeFormat;
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
      hourCycle: "h23", weekday: "long",
    });
  } catch (error) {
    throw new FlowDefinitionError(
      `Expected \`timeZone\` of TimeProvider to be an IANA time zone such as "Europe/Paris", got ${describe(timeZone)}: ${describeError(error).message}`,
    );
  }
  try {
    formatted = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: includeWeekday ? "full" : "long", timeStyle: "medium", hourCycle: "h23" });
  } catch (error) {
    throw new FlowDefinitionError(`Expected \`locale\` of TimeProvider to be a locale such as "en-US" or "zh_CN", got ${describe(read.raw("locale"))}: ${describeError(error).message}`);
  }
  return {
    format: read.choice("format", FORMATS, "iso"),
    customFormat: read.string("customFormat", "%Y-%m-%d %H:%M:%S", { allowEmpty: true }),
    includeWeekday,
    locale,
    timeZone,
    parts,
    formatted,
  };
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** The calendar fields of an instant in a time zone. */
interface Fields {
  year: number; month: number; day: number; hour: number; minute: number; second: number; ms: number;
  weekday: string;
  offsetMinutes: number;
}

function fieldsOf(ms: number, settings: TimeSettings): Fields {
  const got: Record<string, string> = {};
  for (const part of settings.parts.formatToParts(new Date(ms))) got[part.type] = part.value;
  const f = {
    year: Number(got.year), month: Number(got.month), day: Number(got.day),
    hour: Number(got.hour) % 24, minute: Number(got.minute), second: Number(got.second), ms: ((ms % 1000) + 1000) % 1000,
    weekday: got.weekday ?? "",
  };
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.ms);
  return { ...f, offsetMinutes: Math.round((asUtc - ms) / 60_000) };
}

function offsetText(minutes: number, colon: boolean): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${colon ? ":" : ""}${pad(abs % 60)}`;
}

/** ISO-8601 in the time zone: `2025-01-01T09:30:00.000+01:00` (or `...Z` in UTC). */
function isoOf(ms: number, settings: TimeSettings): string {
  if (settings.timeZone === "UTC") return new Date(ms).toISOString();
  const f = fieldsOf(ms, settings);
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}.${pad(f.ms, 3)}${offsetText(f.offsetMinutes, true)}`;
}

/**
 * Formats an instant with strftime directives, as Python's `datetime.strftime` does in the C
 * locale: `%Y %y %m %d %H %I %p %M %S %f %j %A %a %B %b %z %Z %%`; others are left as written. @internal
 */
export function strftime(ms: number, pattern: string, settings: TimeSettings): string {
  const f = fieldsOf(ms, settings);
  const dayOfYear = Math.round((Date.UTC(f.year, f.month - 1, f.day) - Date.UTC(f.year, 0, 1)) / 86_400_000) + 1;
  return pattern.replace(/%([a-zA-Z%])/g, (whole, code: string) => {
    switch (code) {
      case "Y": return pad(f.year, 4);
      case "y": return pad(f.year % 100);
      case "m": return pad(f.month);
      case "d": return pad(f.day);
      case "H": return pad(f.hour);
      case "I": return pad(f.hour % 12 === 0 ? 12 : f.hour % 12);
      case "p": return f.hour < 12 ? "AM" : "PM";
      case "M": return pad(f.minute);
      case "S": return pad(f.second);
      case "f": return pad(f.ms * 1000, 6);
      case "j": return pad(dayOfYear, 3);
      case "A": return f.weekday;
      case "a": return f.weekday.slice(0, 3);
      case "B": return MONTHS[f.month - 1] ?? "";
      case "b": return (MONTHS[f.month - 1] ?? "").slice(0, 3);
      case "z": return offsetText(f.offsetMinutes, false);
      case "Z": return settings.timeZone;
      case "%": return "%";
      default: return whole;
    }
  });
}

/**
 * Gives the current time, from the flow's clock (so a `SimulatedClock` controls it in tests).
 *
 * - Slots: `request` (as in the Python system), `input` and `trigger`: any message asks for the
 *   time. A message whose value (its `data` field when present, else the message) has a `format`
 *   field uses that format instead of the configured one.
 * - Event: `output { timeString, timestamp, datetime, formatted }`: `timestamp` in epoch
 *   milliseconds, `datetime` ISO-8601 in the time zone, `formatted` by `customFormat`,
 *   `timeString` by `format`.
 * - Config: `format`: `"iso"` (default), `"formatted"` (for people, in `locale`), `"timestamp"`
 *   (the milliseconds as text) or `"custom"` (by `customFormat`); `customFormat` (strftime
 *   directives, default `"%Y-%m-%d %H:%M:%S"`); `includeWeekday` (default true, for
 *   `"formatted"`); `locale` (default `"en-US"`; `"zh_CN"` is read as `"zh-CN"`); `timeZone`
 *   (an IANA name, default `"UTC"`). A bad locale or time zone is refused when configured.
 *
 * @example
 * ```ts
 * const now = new TimeProvider();
 * now.setConfig({ format: "custom", customFormat: "%d/%m/%Y", timeZone: "Europe/Paris" });
 * ```
 */
export class TimeProvider extends BuiltinRoutine {
  #settings = parse({});

  constructor() {
    super();
    this.defineSlot("request", this.tell);
    this.defineSlot("input", this.tell);
    this.defineSlot("trigger", this.tell);
    this.defineEvent("output", ["timeString", "timestamp", "datetime", "formatted"]);
  }

  protected override configure(config: Readonly<Record<string, unknown>>): void {
    this.#settings = parse(config);
  }

  /** Emits the current time. */
  protected tell(message: Payload, ctx: HandlerContext): void {
    const settings = this.#settings;
    const value = valueOf(message);
    let format = settings.format;
    if (isPlainObject(value) && value.format !== undefined) {
      if (typeof value.format !== "string" || !(FORMATS as readonly string[]).includes(value.format)) {
        throw new RoutiluxError(`TimeProvider '${ctx.routineId}' got a message asking for format ${describe(value.format)}; the formats are: ${FORMATS.join(", ")}`);
      }
      format = value.format as TimeFormat;
    }
    const ms = ctx.flow.clock.now();
    const datetime = isoOf(ms, settings);
    const timeString = format === "iso" ? datetime
      : format === "timestamp" ? String(ms)
        : format === "formatted" ? settings.formatted.format(new Date(ms))
          : strftime(ms, settings.customFormat, settings);
    this.emit("output", { timeString, timestamp: ms, datetime, formatted: strftime(ms, settings.customFormat, settings) });
  }
}
