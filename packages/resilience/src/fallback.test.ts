import { Code, PlexusError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { stale, withFallback } from "./fallback.ts";

describe("fallback", () => {
  it("marks a fresh result as not degraded", async () => {
    const call = withFallback(async () => [1, 2], { fallback: () => [] as number[] });
    expect(await call()).toEqual({ degraded: false, value: [1, 2] });
  });

  it("marks a fallback value as degraded, with the failure as a PlexusError", async () => {
    const call = withFallback(
      async (): Promise<number[]> => {
        throw new PlexusError(Code.Unavailable, "down");
      },
      { fallback: () => [] as number[] },
    );
    const result = await call();
    expect(result).toMatchObject({ degraded: true, value: [] });
    expect(result.degraded && result.error.code).toBe(Code.Unavailable);
    expect(result.degraded && "staleSince" in result).toBe(false);
  });

  it("marks a cached copy as stale, with the time it was fresh", async () => {
    const call = withFallback(
      async (): Promise<string> => {
        throw new Error("boom");
      },
      { fallback: () => stale("cached", 1_234) },
    );
    expect(await call()).toMatchObject({ degraded: true, value: "cached", staleSince: 1_234 });
  });

  it("never falls back when the caller cancelled, nor when told not to", async () => {
    const controller = new AbortController();
    controller.abort();
    const failing = async (): Promise<string> => {
      throw new PlexusError(Code.NotFound, "absent");
    };
    const call = withFallback(failing, { fallback: () => "default" });
    expect(await call(controller.signal).catch((e: unknown) => e)).toBeInstanceOf(PlexusError);
    const picky = withFallback(failing, {
      fallback: () => "default",
      shouldFallback: (e) => e.code !== Code.NotFound,
    });
    expect(((await picky().catch((e: unknown) => e)) as PlexusError).code).toBe(Code.NotFound);
  });

  it("a failing fallback surfaces the original failure", async () => {
    const original = new PlexusError(Code.Unavailable, "down");
    const call = withFallback(
      async () => {
        throw original;
      },
      {
        fallback: () => {
          throw new Error("cache down too");
        },
      },
    );
    expect(await call().catch((e: unknown) => e)).toBe(original);
  });
});
