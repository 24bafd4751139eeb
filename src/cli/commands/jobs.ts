import type { Command } from "commander";
import { Flow, type JobFilter, type JobStatus, type JobStore, type MetadataValue, type StoredJob } from "../../index.js";
import type { Cli } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { formatTime, styleStatus, table } from "../format.js";
import { collect, parseCount, parseJsonObject } from "../input.js";
import { storeArgument, withStore, type StoreOptions } from "../store.js";
import { carryOn, heldByLiveProcess, hintsOf, refuseEnded, requireJob, type CarryOptions } from "./jobs-carry.js";
import { jobJson, showJob } from "./jobs-show.js";

const STATUSES: readonly JobStatus[] = ["pending", "running", "paused", "completed", "failed", "cancelled"];
const ROUTINES_HELP = "modules with the flow's Routine classes (repeatable; default: those run recorded); JavaScript, or TypeScript under a loader such as tsx";

interface ListOptions extends StoreOptions {
  status?: string[];
  flowId?: string;
  meta?: string[];
  limit?: string;
  cursor?: string;
  json?: boolean;
}

function filterOf(options: ListOptions): JobFilter {
  const filter: JobFilter = { limit: options.limit === undefined ? 50 : parseCount(options.limit, "--limit") };
  const statuses = (options.status ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  for (const status of statuses) {
    if (!STATUSES.includes(status as JobStatus)) throw new CliError(`--status expects one of ${STATUSES.join(", ")}; got '${status}'`);
  }
  if (statuses.length > 0) filter.status = statuses as JobStatus[];
  if (options.flowId !== undefined) filter.flowId = options.flowId;
  if (options.cursor !== undefined) filter.cursor = options.cursor;
  if (options.meta !== undefined) {
    const metadata: Record<string, MetadataValue> = {};
    for (const pair of options.meta) {
      const at = pair.indexOf("=");
      if (at <= 0) throw new CliError(`--meta expects key=value, such as --meta customer=acme; got '${pair}'`);
      const raw = pair.slice(at + 1);
      let value: MetadataValue = raw;
      try {
        const parsed = JSON.parse(raw) as unknown;
        if (parsed === null || ["string", "number", "boolean"].includes(typeof parsed)) value = parsed as MetadataValue;
      } catch {
        // not JSON: the text itself
      }
      metadata[pair.slice(0, at)] = value;
    }
    filter.metadata = metadata;
  }
  return filter;
}

/** A Flow of the job's flowId on the store, without routines: enough to send pause and cancel. */
function controlFlow(store: JobStore, stored: StoredJob): Flow {
  return new Flow({ flowId: stored.flowId, store });
}

/** `routilux jobs ...`: the jobs in the store. */
export function jobsCommand(program: Command, cli: Cli): void {
  const jobs = program
    .command("jobs")
    .description("list, show and control the jobs in the store (also while another process runs them)")
    .addHelpText("after", `
Examples:
  $ routilux jobs list --status paused,failed
  $ routilux jobs show 0b0e3c1a-...
  $ routilux jobs answer 0b0e3c1a-... --routine approve --slot answer --data '{"ok": true}'`);

  jobs
    .command("list")
    .description("list the jobs in the store, oldest first, a page at a time")
    .option("--status <status>", `only jobs in these statuses (${STATUSES.join(", ")}; comma-separated or repeated)`, collect)
    .option("--flow-id <id>", "only jobs of this flow")
    .option("--meta <key=value>", "only jobs whose metadata has this top-level value (repeatable)", collect)
    .option("--limit <n>", "at most this many jobs (default 50)")
    .option("--cursor <cursor>", "continue after the page that printed this cursor")
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .option("--json", "print { jobs: [...], nextCursor } as JSON")
    .addHelpText("after", `
Examples:
  $ routilux jobs list
  $ routilux jobs list --status running,paused --flow-id hello --limit 20
  $ routilux jobs list --json | jq '.jobs[].jobId'`)
    .action(async (options: ListOptions) => {
      const filter = filterOf(options);
      await withStore(options, false, async (store) => {
        const page = await store.listJobs(filter);
        if (options.json === true) {
          cli.json({ jobs: [...page], nextCursor: page.nextCursor ?? null });
          return;
        }
        if (page.length === 0) {
          cli.out(`No jobs${options.cursor === undefined ? "" : " after this cursor"} in ${String(store)}${filter.status === undefined && filter.flowId === undefined && filter.metadata === undefined ? "" : " that match"}.`);
          return;
        }
        const rows = page.map((j) => [j.jobId, j.flowId, styleStatus(cli, j.status), formatTime(j.createdAt), formatTime(j.updatedAt), j.waitingFor.join(", ")]);
        cli.out(...table(cli, ["JOB ID", "FLOW", "STATUS", "CREATED", "UPDATED", "WAITING FOR"], rows));
        if (page.nextCursor !== undefined) cli.out(`More: routilux jobs list --cursor ${page.nextCursor}${storeArgument(options)} (with the same filters)`);
      });
    });

  jobs
    .command("show")
    .description("show a job: status, routine states, what it waits for, pending tasks and its history as a timeline")
    .argument("<job-id>", "the job's id")
    .option("--history <n>", "show the last n history records (default 30)")
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .option("--json", "print the job as JSON (jobId, status, routineStates, history, waitingFor, pendingTasks, result, ...)")
    .addHelpText("after", `
Examples:
  $ routilux jobs show 0b0e3c1a-...
  $ routilux jobs show 0b0e3c1a-... --json | jq .routineStates`)
    .action(async (jobId: string, options: StoreOptions & { json?: boolean; history?: string }) => {
      const limit = options.history === undefined ? 30 : parseCount(options.history, "--history");
      await withStore(options, false, async (store) => {
        const { stored, job } = await requireJob(store, jobId);
        if (options.json === true) cli.json(await jobJson(job, stored));
        else await showJob(cli, job, stored, hintsOf(options), limit);
      });
    });

  jobs
    .command("pause")
    .description("pause a running job: the process running it pauses it and stores it")
    .argument("<job-id>", "the job's id")
    .option("--reason <text>", "recorded with the pause (default: \"routilux jobs pause\")")
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .addHelpText("after", `
Example:
  $ routilux jobs pause 0b0e3c1a-... --reason "maintenance"`)
    .action(async (jobId: string, options: StoreOptions & { reason?: string }) => {
      await withStore(options, false, async (store) => {
        const { stored } = await requireJob(store, jobId);
        refuseEnded(stored, "pause");
        if (stored.status === "paused") {
          cli.out(`Job ${jobId} is paused already. Resume it with: routilux jobs resume ${jobId}${storeArgument(options)}`);
          return;
        }
        const flow = controlFlow(store, stored);
        try {
          await flow.pause(jobId, { reason: options.reason ?? "routilux jobs pause" }).catch((error: unknown) => {
            if (error instanceof Error && /no live process holds it/.test(error.message)) {
              throw new CliError(
                `Job ${jobId} is running, but no live process holds it (its process stopped); carry it on with: routilux recover${storeArgument(options)}`,
                ExitCode.USAGE, { cause: error },
              );
            }
            throw error;
          });
        } finally {
          await flow.shutdown();
        }
        cli.out(`Paused job ${jobId}. Resume it with: routilux jobs resume ${jobId}${storeArgument(options)}`);
      });
    });

  jobs
    .command("resume")
    .description("resume a paused job: the process holding it resumes it; when none does, this one runs it until it rests")
    .argument("<job-id>", "the job's id")
    .option("--flow <flow-file>", "the flow file to run it on (default: the one run recorded)")
    .option("--routines <module>", ROUTINES_HELP, collect)
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .option("--json", "print one JSON line per event and a last line {\"result\": ...} (the default off a terminal)")
    .addHelpText("after", `
Exit codes when it runs here: 0 completed, 1 failed or cancelled, 3 paused again, 130 left running by a second
Ctrl-C; 2 when the job is running or has ended. Event "seq" numbers start at 1 in this process.

Example:
  $ routilux jobs resume 0b0e3c1a-...`)
    .action(async (jobId: string, options: CarryOptions) => {
      await carryOn(cli, jobId, options, "resume", (flow) => flow.resume(jobId));
    });

  jobs
    .command("cancel")
    .description("cancel a running or paused job")
    .argument("<job-id>", "the job's id")
    .option("--reason <text>", "recorded with the cancellation (default: \"routilux jobs cancel\")")
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .addHelpText("after", `
Example:
  $ routilux jobs cancel 0b0e3c1a-... --reason "not needed"`)
    .action(async (jobId: string, options: StoreOptions & { reason?: string }) => {
      await withStore(options, false, async (store) => {
        const { stored } = await requireJob(store, jobId);
        refuseEnded(stored, "cancel");
        const flow = controlFlow(store, stored);
        try {
          await flow.cancel(jobId, { reason: options.reason ?? "routilux jobs cancel" });
        } finally {
          await flow.shutdown();
        }
        cli.out(`Cancelled job ${jobId}.`);
      });
    });

  jobs
    .command("answer")
    .description("answer an input a paused job waits for; the job resumes once it waits for nothing else")
    .argument("<job-id>", "the job's id")
    .option("--routine <id>", "the routine that asked (default: when the job waits for one input, that one's)")
    .option("--slot <name>", "the slot to answer (default: as for --routine)")
    .requiredOption("--data <json>", "the answer: a JSON object, or @file.json")
    .option("--flow <flow-file>", "the flow file to run it on (default: the one run recorded)")
    .option("--routines <module>", ROUTINES_HELP, collect)
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .option("--json", "print one JSON line per event and a last line {\"result\": ...} (the default off a terminal)")
    .addHelpText("after", `
Exit codes when it runs here: 0 completed, 1 failed or cancelled, 3 paused (waits again), 130 left running by a
second Ctrl-C; 0 when another process took the answer. Event "seq" numbers start at 1 in this process.

Example:
  $ routilux jobs answer 0b0e3c1a-... --routine approve --slot answer --data '{"ok": true}'`)
    .action(async (jobId: string, options: CarryOptions & { routine?: string; slot?: string; data: string }) => {
      const data = parseJsonObject(options.data, "--data");
      let { routine, slot } = options;
      if (routine === undefined || slot === undefined) {
        await withStore(options, false, async (store) => {
          const { stored, job } = await requireJob(store, jobId);
          refuseEnded(stored, "answer");
          const fits = (w: { routineId: string; slotName: string }): boolean =>
            (routine === undefined || w.routineId === routine) && (slot === undefined || w.slotName === slot);
          const waits = job.waitingFor.filter(fits);
          if (waits.length !== 1) {
            const all = job.waitingFor.map((w) => `${w.routineId}.${w.slotName}`).join(", ");
            throw new CliError(job.waitingFor.length === 0
              ? `Job ${jobId} waits for no input (it is ${job.status}); pass --routine and --slot to answer ahead`
              : `Job ${jobId} waits for ${all}; choose one with --routine <id> --slot <name>`);
          }
          routine = waits[0]!.routineId;
          slot = waits[0]!.slotName;
        });
      }
      await carryOn(cli, jobId, options, "answer", (flow) => flow.answer(jobId, routine!, slot!, data));
    });

  jobs
    .command("delete")
    .description("delete a job and its log from the store")
    .argument("<job-id>", "the job's id")
    .option("--force", "also delete a job that a live process runs")
    .option("--store <path>", "the SQLite job store (default: ./.routilux/jobs.db)")
    .addHelpText("after", `
Example:
  $ routilux jobs delete 0b0e3c1a-...`)
    .action(async (jobId: string, options: StoreOptions & { force?: boolean }) => {
      await withStore(options, false, async (store) => {
        const { stored } = await requireJob(store, jobId);
        const live = stored.status === "running" && heldByLiveProcess(stored);
        if (live && options.force !== true) {
          throw new CliError(`Job ${jobId} is running in a live process; cancel it first (routilux jobs cancel ${jobId}) or pass --force`);
        }
        await store.deleteJob(jobId);
        cli.out(`Deleted job ${jobId}.`);
      });
    });
}
