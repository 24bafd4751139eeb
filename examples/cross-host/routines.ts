/**
 * The routine classes of the cross-host example. Both hosts deploy this same code; only the flow
 * document (structure and configuration) and the job document (state) travel between them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Routine, type ExecutionContext } from "../../src/index.js";

/** Which host this process plays, for the shared log. */
const host = (): string => process.env.ROUTILUX_HOST ?? `pid ${process.pid}`;

/** Fetches the text (here: a short wait) and splits it into words of at least `minLength` letters (configuration). */
export class Extract extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.extract);
    this.defineEvent("words", ["words"]);
  }

  async extract(data: Record<string, unknown>, ctx: ExecutionContext): Promise<void> {
    this.sendOutput("progress", { step: "extract" });
    await sleep(20); // a download in real life
    const minLength = this.getConfig("minLength", 1);
    const words = String(data.text).toLowerCase().split(/[^a-z]+/).filter((w) => w.length >= minLength);
    ctx.jobState.appendToSharedLog({ routine: ctx.routineId, host: host() });
    this.emit("words", { words });
  }
}

/** Counts the words and passes on the `top` most frequent (configuration). */
export class Count extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.count);
    this.defineEvent("counted", ["top"]);
  }

  count(data: Record<string, unknown>, ctx: ExecutionContext): void {
    const counts = new Map<string, number>();
    for (const word of data.words as string[]) counts.set(word, (counts.get(word) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, this.getConfig("top", 3));
    ctx.jobState.appendToSharedLog({ routine: ctx.routineId, host: host() });
    this.emit("counted", { top: top.map(([word, n]) => `${word}:${n}`) });
  }
}

/** Stores the result in the job and sends it as output. */
export class Report extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.report);
  }

  report(data: Record<string, unknown>, ctx: ExecutionContext): void {
    ctx.jobState.updateSharedData("top", data.top);
    ctx.jobState.appendToSharedLog({ routine: ctx.routineId, host: host() });
    this.sendOutput("report", { top: data.top });
  }
}
