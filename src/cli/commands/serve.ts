import type { Command } from "commander";
import { loadFlowsDir, startServer } from "../../server/index.js";
import type { Cli } from "../context.js";
import { CliError } from "../errors.js";
import { collect } from "../input.js";
import { loadRoutines } from "../routines.js";
import { storePathOf, withStore, type StoreOptions } from "../store.js";

interface ServeOptions extends StoreOptions {
  flowsDir: string;
  host: string;
  port: string;
  token?: string;
  readOnly?: boolean;
  routines?: string[];
}

/** `routilux serve`: the HTTP API and the dashboard for the flow files of a folder, until Ctrl-C. */
export function serveCommand(program: Command, cli: Cli): void {
  program
    .command("serve")
    .description("serve the HTTP API and the dashboard for the flow files of a folder and the jobs of the store (until Ctrl-C)")
    .option("--flows-dir <dir>", "the folder of flow files (.yaml, .yml, .json)", "flows")
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .option("--host <host>", "the address to listen on; another than loopback needs --token", "127.0.0.1")
    .option("--port <port>", "the port (0 picks a free one)", "8080")
    .option("--token <token>", "a token every API request must carry (Authorization: Bearer <token>)")
    .option("--read-only", "show jobs but refuse to start or change them")
    .option("--routines <module>", "modules with the flows' Routine classes (repeatable); JavaScript, or TypeScript under a loader such as tsx", collect)
    .addHelpText("after", `
Examples:
  $ routilux serve --flows-dir flows --routines ./routines.mjs
  $ routilux serve --host 0.0.0.0 --token "$ROUTILUX_TOKEN" --read-only`)
    .action(async (options: ServeOptions) => {
      const port = Number(options.port);
      if (!/^\d{1,5}$/.test(options.port) || port > 65535) throw new CliError(`Expected --port to be a port number from 0 to 65535, got '${options.port}'`);
      await withStore(options, true, async (store) => {
        const { registry } = await loadRoutines(options.routines ?? []);
        const loaded = await loadFlowsDir({ flowsDir: options.flowsDir, store, registry });
        try {
          const server = await startServer({
            flows: loaded.flows,
            store,
            host: options.host,
            port,
            readOnly: options.readOnly === true,
            ...(options.token === undefined ? {} : { token: options.token }),
          });
          cli.out(`routilux dashboard: ${server.url}`);
          cli.out(`  flows: ${loaded.flows.map((f) => f.flowId).join(", ")}; store: ${storePathOf(options)}${options.readOnly === true ? "; read-only" : ""}`);
          await new Promise<void>((resolve) => {
            process.once("SIGINT", resolve);
            process.once("SIGTERM", resolve);
          });
          await server.close();
        } finally {
          await loaded.close();
        }
      });
    });
}
