import { describe, expect, it } from "vitest";
import { readPaymentsConfig } from "./config.ts";

describe("readPaymentsConfig", () => {
  it("defaults to a 2 s charge timeout under a 3 s slow card, random flakiness", () => {
    expect(readPaymentsConfig({})).toEqual({
      chargeTimeoutMs: 2000,
      slowMs: 3000,
      flakySeed: undefined,
    });
  });

  it("reads the settings", () => {
    expect(
      readPaymentsConfig({
        PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS: " 150 ",
        PLEXUS_PAYMENT_SLOW_MS: "0",
        PLEXUS_PAYMENT_FLAKY_SEED: "42",
      }),
    ).toEqual({ chargeTimeoutMs: 150, slowMs: 0, flakySeed: 42 });
  });

  it.each([
    ["PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS", "0"],
    ["PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS", "2s"],
    ["PLEXUS_PAYMENT_SLOW_MS", "-1"],
    ["PLEXUS_PAYMENT_FLAKY_SEED", "1.5"],
  ])("refuses %s=%s, naming it", (name, value) => {
    expect(() => readPaymentsConfig({ [name]: value })).toThrow(name);
  });
});
