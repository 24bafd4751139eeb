// A JobStore wrapper that injects faults into another store's engine calls, for the conformance
// suite: commits that fail once, fail for good, fail on the Nth call, or stall (never settle
// until released). Reads and user calls pass through untouched.
import {
  StoreError,
  type ClaimRequest,
  type CommandRequest,
  type CommandState,
  type JobCommand,
  type CommitBatch,
  type CommitResult,
  type HeldLease,
  type JobFilter,
  type JobPage,
  type JobState,
  type JobStore,
  type StoredJob,
} from "../../src/index.js";
import { loadStoredJob } from "../../src/persistence/store-common.js";
import { closeWriter } from "../../src/persistence/store-writer.js";

type Fault =
  | { kind: "none" }
  | { kind: "fail"; remaining: number }
  | { kind: "failForGood" }
  | { kind: "failForGoodAfter"; calls: number }
  | { kind: "failOnCall"; call: number }
  | { kind: "stall" };

/**
 * Wraps a store; its faults apply to `commit`. Without faults it is a second handle on the same
 * storage, with a writer (and lease owner) of its own: "another process" for the tests.
 */
export class FaultyStore implements JobStore {
  readonly inner: JobStore;
  readonly #closesInner: boolean;
  #fault: Fault = { kind: "none" };
  #calls = 0;
  #stalled: Array<() => void> = [];
  /** Commits that reached the inner store. */
  committed = 0;
  /** Commits refused by a fault. */
  refused = 0;

  /** @param options - `closesInner`: whether closing this closes the wrapped store too (default true) */
  constructor(inner: JobStore, options: { closesInner?: boolean } = {}) {
    this.inner = inner;
    this.#closesInner = options.closesInner ?? true;
  }

  get leaseMs(): number {
    return this.inner.leaseMs;
  }

  toString(): string {
    return `faulty ${String(this.inner)}`;
  }

  /** The next `times` commits fail (then the store works again). */
  failNext(times = 1): void {
    this.#fault = { kind: "fail", remaining: times };
  }

  /** Every commit fails from now on (a full disk, a lost connection). */
  failForGood(): void {
    this.#fault = { kind: "failForGood" };
  }

  /** After `n` more commits go through, every commit fails. */
  failForGoodAfter(n: number): void {
    this.#fault = { kind: "failForGoodAfter", calls: this.#calls + n };
  }

  /** The commit `n` calls from now fails (1: the next one). */
  failOnCall(n: number): void {
    this.#fault = { kind: "failOnCall", call: this.#calls + n };
  }

  /** Commits hang from now on until `heal()`, then go through. */
  stall(): void {
    this.#fault = { kind: "stall" };
  }

  /** How many commits hang now, waiting for `heal()`. */
  get stalling(): number {
    return this.#stalled.length;
  }

  /** No more faults; stalled commits go on. */
  heal(): void {
    this.#fault = { kind: "none" };
    const stalled = this.#stalled;
    this.#stalled = [];
    for (const go of stalled) go();
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const call = ++this.#calls;
    const fault = this.#fault;
    if (fault.kind === "stall") await new Promise<void>((resolve) => this.#stalled.push(resolve));
    const fail = fault.kind === "failForGood" ||
      (fault.kind === "failForGoodAfter" && call > fault.calls) ||
      (fault.kind === "fail" && fault.remaining-- > 0) ||
      (fault.kind === "failOnCall" && fault.call === call);
    if (fail) {
      this.refused++;
      throw new StoreError(`${String(this)}: injected failure of commit call ${call}`);
    }
    const result = await this.inner.commit(batch);
    this.committed++;
    return result;
  }

  /** Waits for the commits this process handed to this wrapper, then reads through. */
  loadJob(jobId: string): Promise<JobState | undefined> {
    return loadStoredJob(this, jobId);
  }

  listJobs(filter?: JobFilter): Promise<JobPage> {
    return this.inner.listJobs(filter);
  }

  deleteJob(jobId: string): Promise<void> {
    return this.inner.deleteJob(jobId);
  }

  async close(): Promise<void> {
    this.heal();
    await closeWriter(this);
    if (this.#closesInner) await this.inner.close();
  }

  readJob(jobId: string): Promise<StoredJob | undefined> {
    return this.inner.readJob(jobId);
  }

  claimJobs(request: ClaimRequest): Promise<StoredJob[]> {
    return this.inner.claimJobs(request);
  }

  renewLeases(owner: string, leaseUntilMs: number, jobs: readonly HeldLease[]): Promise<string[]> {
    return this.inner.renewLeases(owner, leaseUntilMs, jobs);
  }

  releaseLeases(owner: string, jobIds?: readonly string[]): Promise<void> {
    return this.inner.releaseLeases(owner, jobIds);
  }

  sendCommand(request: CommandRequest): Promise<number> {
    return this.inner.sendCommand(request);
  }

  takeCommands(owner: string, jobIds: readonly string[]): Promise<JobCommand[]> {
    return this.inner.takeCommands(owner, jobIds);
  }

  finishCommand(id: number, outcome: { ok: boolean; error?: string }): Promise<void> {
    return this.inner.finishCommand(id, outcome);
  }

  readCommand(id: number): Promise<CommandState | undefined> {
    return this.inner.readCommand(id);
  }

  withdrawCommand(id: number): Promise<boolean> {
    return this.inner.withdrawCommand(id);
  }
}
