import { describe, expect, it } from "vitest";
import { sleep } from "./clock.ts";
import { Code } from "./code.ts";
import { PlexusError, validationError } from "./plexus-error.ts";

describe("PlexusError", () => {
  it("carries code, message, reason, details, metadata and cause", () => {
    const cause = new Error("socket hang up");
    const error = new PlexusError(Code.NotFound, "user not found", {
      reason: "USER_NOT_FOUND",
      details: [{ field: "id", message: "unknown" }],
      metadata: { retryAfterMs: "10" },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("PlexusError");
    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toBe("user not found");
    expect(error.reason).toBe("USER_NOT_FOUND");
    expect(error.details).toEqual([{ field: "id", message: "unknown" }]);
    expect(error.metadata).toEqual({ retryAfterMs: "10" });
    expect(error.cause).toBe(cause);
  });

  it("defaults to no reason, no details, no metadata, no cause", () => {
    const error = new PlexusError(Code.Internal, "x");
    expect(error.reason).toBeUndefined();
    expect(error.details).toEqual([]);
    expect(error.metadata).toEqual({});
    expect("cause" in error).toBe(false);
  });

  it("validationError is InvalidArgument + VALIDATION_ERROR + details", () => {
    const error = validationError([{ field: "email", message: "invalid" }]);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("VALIDATION_ERROR");
    expect(error.message).toBe("validation failed");
    expect(validationError([], "nope").message).toBe("nope");
  });
});

describe("PlexusError.from", () => {
  it("returns a PlexusError as is", () => {
    const error = new PlexusError(Code.NotFound, "x");
    expect(PlexusError.from(error)).toBe(error);
    expect(PlexusError.from(error, Code.Internal)).toBe(error);
  });

  it("hides a plain error's message behind Unknown, keeping it as cause", () => {
    const plain = new Error("SELECT * FROM users failed at /srv/app.ts:3");
    const error = PlexusError.from(plain);
    expect(error.code).toBe(Code.Unknown);
    expect(error.message).toBe("internal error");
    expect(error.cause).toBe(plain);
  });

  it("uses the fallback code for unknown errors", () => {
    expect(PlexusError.from(new Error("x"), Code.Unavailable).code).toBe(Code.Unavailable);
  });

  it("normalises non-Error throwables", () => {
    for (const thrown of ["a string", 42, null, undefined, { code: 5 }]) {
      const error = PlexusError.from(thrown);
      expect(error.code).toBe(Code.Unknown);
      expect(error.message).toBe("internal error");
      expect(error.cause).toBe(thrown);
    }
  });

  it("maps an AbortError to Canceled", () => {
    const controller = new AbortController();
    controller.abort();
    const error = PlexusError.from(controller.signal.reason);
    expect(error.code).toBe(Code.Canceled);
    const named = Object.assign(new Error("aborted"), { name: "AbortError" });
    expect(PlexusError.from(named).code).toBe(Code.Canceled);
  });

  it("maps a TimeoutError to DeadlineExceeded", async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    const reason: unknown = signal.reason;
    expect((reason as Error).name).toBe("TimeoutError");
    expect(PlexusError.from(reason).code).toBe(Code.DeadlineExceeded);
    const named = Object.assign(new Error("timed out"), { name: "TimeoutError" });
    expect(PlexusError.from(named).code).toBe(Code.DeadlineExceeded);
  });

  it("returns the PlexusError an operation was aborted with", async () => {
    const controller = new AbortController();
    const reason = new PlexusError(Code.Unavailable, "shutting down");
    controller.abort(reason);
    // Aborted operations reject with the signal's reason itself…
    const thrown = await sleep(1_000, controller.signal).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(PlexusError.from(thrown)).toBe(reason);
    // …or with an AbortError whose cause is the reason.
    const wrapped = new DOMException("aborted", "AbortError");
    Object.defineProperty(wrapped, "cause", { value: reason });
    expect(PlexusError.from(wrapped)).toBe(reason);
  });
});
