import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** A file of the dashboard: its bytes and media type. */
export interface Asset {
  readonly body: Uint8Array;
  readonly type: string;
}

/** The dashboard's files by URL path (`/assets/app.js`, `/assets/app.css`). */
export type DashboardAssets = ReadonlyMap<string, Asset>;

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** The page that loads the dashboard; everything it needs is served by the server itself (no CDN). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>routilux</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/app.css">
<script type="module" src="assets/app.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;

/** The dashboard's entry module (a TypeScript source, bundled by esbuild). */
export const DASHBOARD_ENTRY = fileURLToPath(new URL("./dashboard/main.tsx", import.meta.url));

/**
 * Bundles the dashboard with esbuild (a development dependency): used by `npm run build`, which
 * writes the bundle into `dist/dashboard/`, and by a server run from the TypeScript sources.
 */
export async function buildDashboard(options: { minify?: boolean } = {}): Promise<Map<string, Asset>> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: { app: DASHBOARD_ENTRY },
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: options.minify ?? true,
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir: "/dashboard",
    legalComments: "none",
    logLevel: "silent",
  });
  const files = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const name = file.path.split("/").at(-1) ?? "";
    files.set(`/assets/${name}`, { body: file.contents, type: name.endsWith(".css") ? CSS : JS });
  }
  return files;
}

let loading: Promise<DashboardAssets> | undefined;

/**
 * The dashboard's files: from `dist/dashboard/` when the package runs built (as installed), else
 * bundled from the sources once (in memory: nothing is written). Loaded once per process.
 */
export function loadDashboard(): Promise<DashboardAssets> {
  loading ??= (import.meta.url.endsWith(".ts") ? buildDashboard() : readBuilt()).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function readBuilt(): Promise<DashboardAssets> {
  const dir = new URL("../dashboard/", import.meta.url);
  const files = new Map<string, Asset>();
  for (const [name, type] of [["app.js", JS], ["app.css", CSS]] as const) {
    files.set(`/assets/${name}`, { body: await readFile(new URL(name, dir)), type });
  }
  return files;
}
