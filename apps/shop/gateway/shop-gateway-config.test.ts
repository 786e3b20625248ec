import { describe, expect, it } from "vitest";
import { StartupError } from "@plexus/core";
import { readShopGatewayConfig } from "./shop-gateway-config.ts";

describe("readShopGatewayConfig", () => {
  it("limits the credential routes to 10 a minute, 5 at once, by default", () => {
    expect(readShopGatewayConfig({})).toEqual({
      overviewPartTimeoutMs: 300,
      credentialRateLimit: { limit: 10, burst: 5 },
    });
  });

  it("reads PLEXUS_CREDENTIAL_RATE_LIMIT and _BURST; the default burst never exceeds the limit", () => {
    const read = (env: Record<string, string>) => readShopGatewayConfig(env).credentialRateLimit;
    expect(read({ PLEXUS_CREDENTIAL_RATE_LIMIT: "30", PLEXUS_CREDENTIAL_RATE_BURST: "8" })).toEqual(
      { limit: 30, burst: 8 },
    );
    expect(read({ PLEXUS_CREDENTIAL_RATE_LIMIT: "3" })).toEqual({ limit: 3, burst: 3 });
    expect(read({ PLEXUS_CREDENTIAL_RATE_LIMIT: "1000" })).toEqual({ limit: 1000, burst: 5 });
  });

  it.each([
    ["PLEXUS_CREDENTIAL_RATE_LIMIT", "0"],
    ["PLEXUS_CREDENTIAL_RATE_LIMIT", "ten"],
    ["PLEXUS_CREDENTIAL_RATE_BURST", "-1"],
    ["PLEXUS_CREDENTIAL_RATE_BURST", "2.5"],
  ])("refuses %s=%s at start-up, naming it", (name, value) => {
    const read = () => readShopGatewayConfig({ [name]: value });
    expect(read).toThrow(StartupError);
    expect(read).toThrow(new RegExp(`^${name} must be an integer`));
  });
});
