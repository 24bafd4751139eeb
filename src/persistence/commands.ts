import { outsideContext } from "../core/context.js";
import { RoutiluxError, TimeoutError } from "../core/errors.js";
import type { CommandRequest, JobStore } from "./job-store.js";
import { isOwnerGone } from "./lease.js";
import { leaseIsLive } from "./store-common.js";

/** How often a sender looks at its command. */
const POLL_MS = 20;
/** A command nobody took after this long goes to a job no process holds (when its lease says so too). */
const UNTAKEN_MS = 400;
/** A command taken or waiting for a live holder longer than this fails with a TimeoutError. */
const TIMEOUT_MS = 15_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => outsideContext(() => setTimeout(resolve, ms)));
}

/**
 * Sends a control request for a job through its store and waits for its outcome: "applied" when
 * the process holding the job applied it (a refusal there rejects with its message); "unheld"
 * when no process took it and no live process holds the job's lease, so the request was withdrawn
 * and the caller applies it itself.
 * @internal
 */
export async function sendCommand(store: JobStore, request: CommandRequest): Promise<"applied" | "unheld"> {
  const id = await store.sendCommand(request);
  const started = Date.now();
  for (;;) {
    await sleep(POLL_MS);
    const state = await store.readCommand(id);
    if (state === undefined) throw new RoutiluxError(`The ${request.kind} request for job '${request.jobId}' vanished from ${String(store)} (was the job deleted?)`);
    if (state.state === "done") return "applied";
    if (state.state === "failed") throw new RoutiluxError(state.error ?? `The ${request.kind} request for job '${request.jobId}' failed`);
    const waited = Date.now() - started;
    if (state.state === "waiting" && waited >= UNTAKEN_MS) {
      const stored = await store.readJob(request.jobId);
      const held = stored !== undefined && stored.status === "running" && leaseIsLive(stored.leaseOwner, stored.leaseUntilMs, "", Date.now(), isOwnerGone);
      if (!held && await store.withdrawCommand(id)) return "unheld";
    }
    if (waited >= TIMEOUT_MS) {
      if (await store.withdrawCommand(id)) {
        throw new TimeoutError(`No process took the ${request.kind} request for job '${request.jobId}' within ${TIMEOUT_MS} ms, though its lease says one runs it; try again`);
      }
      throw new TimeoutError(`The process holding job '${request.jobId}' took the ${request.kind} request but did not finish it within ${TIMEOUT_MS} ms`);
    }
  }
}
