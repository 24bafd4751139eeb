// Routines for the built-ins' timing tests: Feed sends values at given times of the flow's clock
// (through delayed deliveries, so a SimulatedClock drives it), and a registry that knows it.
import { Routine, RoutineRegistry, type HandlerContext, type Payload } from "../../src/index.js";

/** On `trigger { steps: [{ at, value }] }`, emits `out { value }` at each `at` (ms after the trigger). */
export class Feed extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.plan);
    this.defineSlot("tick", this.tick);
    this.defineEvent("out", ["value"]);
  }

  plan(data: Payload, ctx: HandlerContext): void {
    for (const step of data.steps as Array<{ at: number; value: unknown }>) ctx.deliverLater("tick", { value: step.value }, step.at);
  }

  tick(data: Payload): void {
    this.emit("out", { value: data.value });
  }
}

/** Steps `values[i]` at `times[i]`. */
export function steps(...pairs: Array<[number, unknown]>): Payload {
  return { steps: pairs.map(([at, value]) => ({ at, value })) };
}

/** A registry with Feed (the built-ins come from defaultRegistry). */
export function feedRegistry(): RoutineRegistry {
  const registry = new RoutineRegistry();
  registry.register("Feed", Feed);
  return registry;
}
