import { randomUUID } from "node:crypto";
import { readlinkSync } from "node:fs";
import { hostname } from "node:os";

const HOST = hostname();

/** The PID namespace of this process (Linux), so a PID is compared only with PIDs of the same namespace. */
const PID_NAMESPACE = ((): string => {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
})();

/**
 * A new lease owner id: `host|pid-namespace|pid|random`. The random part tells apart two
 * writers of one process; host, namespace and pid let another process of the same host see that
 * the owner has exited (see {@link isOwnerGone}).
 * @internal
 */
export function newOwnerId(): string {
  return `${HOST}|${PID_NAMESPACE}|${process.pid}|${randomUUID().slice(0, 8)}`;
}

/**
 * True when `owner` is a process of this host and PID namespace that no longer exists, so its
 * lease is void before it expires (a process killed by SIGKILL never releases its leases).
 * Anything it cannot tell for sure (another host, another namespace, a live or foreign PID) is
 * false: the lease then runs until it expires.
 * @internal
 */
export function isOwnerGone(owner: string): boolean {
  const random = owner.lastIndexOf("|");
  const pidAt = owner.lastIndexOf("|", random - 1);
  const nsAt = owner.lastIndexOf("|", pidAt - 1);
  if (nsAt <= 0) return false;
  if (owner.slice(0, nsAt) !== HOST) return false;
  const namespace = owner.slice(nsAt + 1, pidAt);
  if (namespace === "" || namespace !== PID_NAMESPACE) return false;
  const pid = Number(owner.slice(pidAt + 1, random));
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
