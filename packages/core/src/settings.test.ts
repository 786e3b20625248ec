import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { integerSetting, invalidSetting, portSetting, stringSetting } from "./settings.ts";
import { StartupError } from "./startup-error.ts";

describe("integerSetting", () => {
  it("is undefined when absent or blank, the value when valid", () => {
    expect(integerSetting({}, "N", 1)).toBeUndefined();
    expect(integerSetting({ N: "  " }, "N", 1)).toBeUndefined();
    expect(integerSetting({ N: " 42 " }, "N", 1)).toBe(42);
    expect(integerSetting({ N: "0" }, "N", 0)).toBe(0);
    expect(integerSetting({ N: "10" }, "N", 1, 10)).toBe(10);
  });

  it.each(["abc", "1.5", "0", "-3", "1e400", "9007199254740993"])(
    "names the setting for %s",
    (raw) => {
      expect(() => integerSetting({ N: raw }, "N", 1)).toThrow(
        /^N must be an integer of at least 1/,
      );
    },
  );

  it("refuses a value above max, saying the range and how to fix it", () => {
    const error = catchError(() => integerSetting({ N: "11" }, "N", 1, 10));
    expect(error).toBeInstanceOf(StartupError);
    expect(error.message).toBe(
      'N must be an integer from 1 to 10, got "11": set N to an integer from 1 to 10, or unset it for the default',
    );
  });

  it("always answers with a value in range, nothing, or one line naming the setting", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.integer({ min: 0, max: 100 }), (raw, min) => {
        try {
          const value = integerSetting({ N: raw }, "N", min, 1000);
          if (value !== undefined) {
            expect(Number.isSafeInteger(value) && value >= min && value <= 1000).toBe(true);
          } else expect(raw.trim()).toBe("");
        } catch (error) {
          expect(error).toBeInstanceOf(StartupError);
          expect((error as Error).message).toMatch(/^N must be an integer from/);
          expect((error as Error).message).not.toMatch(/[\n\r]/);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("portSetting", () => {
  it("takes 0..65535 and nothing else", () => {
    expect(portSetting({ PORT: "0" }, "PORT")).toBe(0);
    expect(portSetting({ PORT: "65535" }, "PORT")).toBe(65_535);
    expect(portSetting({}, "PORT")).toBeUndefined();
    for (const raw of ["abc", "65536", "-1", "80.5"]) {
      expect(() => portSetting({ PORT: raw }, "PORT")).toThrow(
        `PORT must be an integer from 0 to 65535, got "${raw}"`,
      );
    }
  });
});

describe("invalidSetting", () => {
  it("quotes a long or multi-line value escaped and shortened, on one line", () => {
    const error = invalidSetting("S", `a\nb${"x".repeat(100)}`, "short");
    expect(error.problem).toBe(`S must be short, got "a\\nb${"x".repeat(37)}…"`);
    expect(error.message).not.toContain("\n");
  });

  it("never quotes a secret", () => {
    const error = invalidSetting("TOKEN", "hunter2", "at least 16 characters", { secret: true });
    expect(error.message).not.toContain("hunter2");
    expect(error.problem).toBe("TOKEN must be at least 16 characters, got 7 characters");
  });

  it("takes a fix of its own", () => {
    expect(invalidSetting("U", "x", "a URL", { fix: "see the docs" }).fix).toBe("see the docs");
  });
});

describe("stringSetting", () => {
  it("trims, and falls back when absent or blank", () => {
    expect(stringSetting({ S: " a " }, "S", "d")).toBe("a");
    expect(stringSetting({ S: "" }, "S", "d")).toBe("d");
    expect(stringSetting({}, "S", "d")).toBe("d");
  });
});

function catchError(fn: () => unknown): StartupError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StartupError) return error;
    throw error;
  }
  throw new Error("expected a StartupError");
}
