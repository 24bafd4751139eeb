// A value nested deeper than the stack allows is refused with a SerializationError where it is
// written, not with a RangeError from deep inside the check.
import { expect, it } from "vitest";
import { Flow, Routine, SerializationError } from "../../src/index.js";
import { thrownBy } from "../fixtures/testing.js";

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) value = { d: value };
  return value;
}

it("entry params nested too deeply are refused with a SerializationError naming them", () => {
  const flow = new Flow({ flowId: "deep" });
  const r = new Routine();
  r.defineSlot("trigger", () => undefined);
  flow.addRoutine(r, "r");
  const error = thrownBy(() => flow.execute("r", { entryParams: nested(100_000) }));
  expect(error).toBeInstanceOf(SerializationError);
  expect(error.message).toMatch(/^Cannot write `entryParams`: 'entryParams' is nested too deeply to check \(the call stack ran out\)/);
  // A deep value the stack allows is fine.
  expect(() => flow.execute("r", { entryParams: nested(1000) })).not.toThrow();
});
