// Writes schema/flow-spec.schema.json from the flow spec's schema in the code (npm run schema).
// test/serialization/flow-spec.test.ts fails when the committed file is out of step.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { flowSpecJsonSchema } from "../src/serialization/flow-spec.js";

const target = fileURLToPath(new URL("../schema/flow-spec.schema.json", import.meta.url));
writeFileSync(target, `${JSON.stringify(flowSpecJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
