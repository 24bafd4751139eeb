// ErrorHandler options: defaults, validation at construction, the backoff formula, retryable.
import { describe, expect, it } from "vitest";
import { ErrorHandler, ErrorStrategy, Flow, FlowDefinitionError, RoutiluxError, type ErrorHandlerOptions } from "../../src/index.js";
import { routine } from "../fixtures/testing.js";
import { NetworkError, PermanentError, TransientError } from "./helpers.js";

/** What constructing an ErrorHandler with `options` threw; fails the test if it did not throw. */
function rejection(options: unknown): Error {
  try {
    new ErrorHandler(options as ErrorHandlerOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(RoutiluxError);
    return error as Error;
  }
  throw new Error(`expected new ErrorHandler(${JSON.stringify(options)}) to throw`);
}

describe("ErrorHandler defaults", () => {
  it("without options it stops, and its retry settings are 3 retries from 100 ms doubling", () => {
    const handler = new ErrorHandler();

    expect(handler.strategy).toBe("stop");
    expect(handler.maxRetries).toBe(3);
    expect(handler.retryDelayMs).toBe(100);
    expect(handler.retryBackoff).toBe(2);
    expect(handler.isCritical).toBe(false);
  });

  it("keeps the options it is given", () => {
    const handler = new ErrorHandler({ strategy: ErrorStrategy.RETRY, maxRetries: 5, retryDelayMs: 0, retryBackoff: 1, isCritical: true });

    expect(handler).toMatchObject({ strategy: "retry", maxRetries: 5, retryDelayMs: 0, retryBackoff: 1, isCritical: true });
  });

  it("the strategies are the four documented string values", () => {
    expect(ErrorStrategy).toEqual({ STOP: "stop", CONTINUE: "continue", RETRY: "retry", SKIP: "skip" });
    for (const strategy of Object.values(ErrorStrategy)) {
      expect(new ErrorHandler({ strategy }).strategy).toBe(strategy);
    }
  });
});

describe("ErrorHandler validation", () => {
  it.each([
    ["a negative retryDelayMs", { retryDelayMs: -1 }, "retryDelayMs", "-1"],
    ["a NaN retryDelayMs", { retryDelayMs: Number.NaN }, "retryDelayMs", "NaN"],
    ["a string retryDelayMs", { retryDelayMs: "100" }, "retryDelayMs", "100"],
    ["a negative maxRetries", { maxRetries: -2 }, "maxRetries", "-2"],
    ["a fractional maxRetries", { maxRetries: 1.5 }, "maxRetries", "1.5"],
    ["a retryBackoff below 1", { retryBackoff: 0.5 }, "retryBackoff", "0.5"],
    ["an unknown strategy", { strategy: "explode" }, "strategy", "explode"],
    ["a retryable that is neither a list nor a predicate", { retryable: "TypeError" }, "retryable", "TypeError"],
  ])("%s throws a message naming the option and the value", (_name, options, option, value) => {
    const error = rejection(options);

    expect(error.message).toContain(`\`${option}\``);
    expect(error.message).toContain(value);
  });

  it("an unknown strategy's message lists the valid strategies", () => {
    const error = rejection({ strategy: "retry-forever" });

    for (const strategy of ["stop", "continue", "retry", "skip"]) expect(error.message).toContain(strategy);
  });

  it("boundary values are accepted: no delay, no retries, no backoff growth", () => {
    expect(() => new ErrorHandler({ retryDelayMs: 0, maxRetries: 0, retryBackoff: 1 })).not.toThrow();
  });

  it("a routine accepts only an ErrorHandler", () => {
    const r = routine({ trigger: () => {} });

    expect(() => r.setErrorHandler({ strategy: "continue" } as unknown as ErrorHandler)).toThrow(RoutiluxError);
    expect(r.getErrorHandler()).toBeUndefined();
  });

  it("a flow accepts only an ErrorHandler, naming the option", () => {
    const bad = { strategy: "continue" } as unknown as ErrorHandler;

    expect(() => new Flow({ errorHandler: bad })).toThrow(FlowDefinitionError);
    expect(() => new Flow({ errorHandler: bad })).toThrow(/errorHandler/);
    expect(() => new Flow().setErrorHandler(bad)).toThrow(/errorHandler/);
  });

  it("setAsOptional rejects a strategy other than continue or skip, naming it", () => {
    const r = routine({ trigger: () => {} });

    expect(() => r.setAsOptional("retry" as "skip")).toThrow(/strategy.*retry/);
    expect(r.getErrorHandler()).toBeUndefined();
  });

  it("setAsCritical validates its options like the constructor", () => {
    const r = routine({ trigger: () => {} });

    expect(() => r.setAsCritical({ retryDelayMs: -5 })).toThrow(/`retryDelayMs`.*-5/);
    expect(() => r.setAsCritical({ maxRetries: -1 })).toThrow(/`maxRetries`.*-1/);
    expect(r.getErrorHandler()).toBeUndefined();
  });
});

describe("the retry schedule and what is retryable", () => {
  it("waits retryDelayMs * retryBackoff ** (attempt - 1) after each failed attempt", () => {
    const handler = new ErrorHandler({ strategy: ErrorStrategy.RETRY, retryDelayMs: 100, retryBackoff: 2 });

    expect([1, 2, 3, 4].map((attempt) => handler.delayAfter(attempt))).toEqual([100, 200, 400, 800]);
    expect(new ErrorHandler({ retryDelayMs: 50, retryBackoff: 1 }).delayAfter(3)).toBe(50);
  });

  it("without a retryable option every thrown value is retryable", () => {
    const handler = new ErrorHandler({ strategy: ErrorStrategy.RETRY });

    for (const value of [new Error("x"), "x", undefined, { code: 1 }]) expect(handler.isRetryable(value)).toBe(true);
  });

  it("a class list retries instances of the classes and their subclasses, nothing else", () => {
    const handler = new ErrorHandler({ strategy: ErrorStrategy.RETRY, retryable: [TransientError] });

    expect(handler.isRetryable(new TransientError("t"))).toBe(true);
    expect(handler.isRetryable(new NetworkError("n"))).toBe(true);
    expect(handler.isRetryable(new PermanentError("p"))).toBe(false);
    expect(handler.isRetryable(new Error("plain"))).toBe(false);
    expect(handler.isRetryable("TransientError")).toBe(false);
  });

  it("a predicate decides, and one that throws means not retryable", () => {
    const byCode = new ErrorHandler({ retryable: (e) => (e as { code?: unknown } | undefined)?.code === "EAGAIN" });
    const broken = new ErrorHandler({
      retryable: () => {
        throw new Error("predicate bug");
      },
    });

    expect(byCode.isRetryable({ code: "EAGAIN" })).toBe(true);
    expect(byCode.isRetryable({ code: "ENOENT" })).toBe(false);
    expect(broken.isRetryable(new Error("x"))).toBe(false);
  });
});
