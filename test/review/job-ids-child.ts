// Prints the ids of N new jobs, one a line: half from flow.execute, half from new JobState().
import { Flow, JobState, Routine } from "../../src/index.js";

const count = Number(process.argv[2] ?? "1000");
const flow = new Flow({ flowId: "ids" });
const only = new Routine();
only.defineSlot("trigger", () => undefined);
flow.addRoutine(only, "only");
const ids: string[] = [];
for (let i = 0; i < count; i++) ids.push(i % 2 === 0 ? flow.execute("only").jobId : new JobState("ids").jobId);
process.stdout.write(ids.join("\n") + "\n");
await flow.shutdown();
