/** A wire from one routine's event to another routine's slot, with an optional parameter renaming. */
export class Connection {
  /** Stable within the flow: `source.event->target.slot`. */
  readonly id: string;
  /** The routine whose event it carries. */
  readonly sourceRoutineId: string;
  /** The event it carries. */
  readonly sourceEvent: string;
  /** The routine it delivers to. */
  readonly targetRoutineId: string;
  /** The slot of the target routine it delivers to. */
  readonly targetSlot: string;
  /** Event parameter name to slot parameter name; unmapped names pass through. */
  readonly paramMapping: Readonly<Record<string, string>> | undefined;

  /** @internal Use `flow.connect`. */
  constructor(
    sourceRoutineId: string,
    sourceEvent: string,
    targetRoutineId: string,
    targetSlot: string,
    paramMapping: Record<string, string> | undefined,
  ) {
    this.id = `${sourceRoutineId}.${sourceEvent}->${targetRoutineId}.${targetSlot}`;
    this.sourceRoutineId = sourceRoutineId;
    this.sourceEvent = sourceEvent;
    this.targetRoutineId = targetRoutineId;
    this.targetSlot = targetSlot;
    this.paramMapping = paramMapping && Object.keys(paramMapping).length > 0 ? { ...paramMapping } : undefined;
  }

  /** Applies the mapping: `{a: "x"}` turns `{a: 1, b: 2}` into `{x: 1, b: 2}`. */
  mapParams(data: Record<string, unknown>): Record<string, unknown> {
    const mapping = this.paramMapping;
    if (mapping === undefined) return data;
    const out: Record<string, unknown> = {};
    for (const key in data) {
      const target = mapping[key];
      out[target === undefined ? key : target] = data[key];
    }
    return out;
  }
}
