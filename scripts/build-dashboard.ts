// `npm run build` (after tsc): bundles the dashboard into dist/dashboard/, where the built server
// (dist/server/) serves it from. The package ships it prebuilt: nothing is fetched at run time.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildDashboard } from "../src/server/assets.js";

const out = join("dist", "dashboard");
await mkdir(out, { recursive: true });
const files = await buildDashboard();
for (const [path, asset] of files) {
  const name = path.replace(/^\/assets\//, "");
  await writeFile(join(out, name), asset.body);
  console.log(`dist/dashboard/${name}: ${asset.body.byteLength} bytes`);
}
