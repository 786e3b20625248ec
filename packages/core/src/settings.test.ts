import { describe, expect, it } from "vitest";
import { integerSetting, stringSetting } from "./settings.ts";

describe("integerSetting", () => {
  it("is undefined when absent or blank, the value when valid", () => {
    expect(integerSetting({}, "N", 1)).toBeUndefined();
    expect(integerSetting({ N: "  " }, "N", 1)).toBeUndefined();
    expect(integerSetting({ N: " 42 " }, "N", 1)).toBe(42);
    expect(integerSetting({ N: "0" }, "N", 0)).toBe(0);
  });

  it.each(["abc", "1.5", "0", "-3", "1e400", "9007199254740993"])(
    "names the setting for %s",
    (raw) => {
      expect(() => integerSetting({ N: raw }, "N", 1)).toThrow(
        /^N must be an integer of at least 1/,
      );
    },
  );
});

describe("stringSetting", () => {
  it("trims, and falls back when absent or blank", () => {
    expect(stringSetting({ S: " a " }, "S", "d")).toBe("a");
    expect(stringSetting({ S: "" }, "S", "d")).toBe("d");
    expect(stringSetting({}, "S", "d")).toBe("d");
  });
});
