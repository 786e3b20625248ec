import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { StartupError } from "@plexus/core";
import { describe, expect, it } from "vitest";
import { closeServer, listen } from "./http-listen.ts";

const settings = { portSetting: "PORT", hostSetting: "PLEXUS_HOST" };

async function failure(port: number, host: string): Promise<StartupError> {
  const server = createServer();
  const error = await listen(server, port, host, settings).then(
    async () => {
      await closeServer(server);
      return new Error("listened");
    },
    (e: unknown) => e,
  );
  if (!(error instanceof StartupError)) throw error;
  return error;
}

describe("listen", () => {
  it("a port in use names it and the setting to change", async () => {
    const taken = createServer();
    await listen(taken, 0, "127.0.0.1", settings);
    const { port } = taken.address() as AddressInfo;
    try {
      expect((await failure(port, "127.0.0.1")).message).toBe(
        `port ${port} is in use: set PORT to a free port or stop the process using it`,
      );
    } finally {
      await closeServer(taken);
    }
  });

  it("an address this machine does not have names the host setting", async () => {
    // TEST-NET-3 (RFC 5737): never a local address.
    expect((await failure(0, "203.0.113.7")).message).toBe(
      "cannot listen on 203.0.113.7: no such address on this machine: " +
        "set PLEXUS_HOST to one of this machine's addresses (127.0.0.1, 0.0.0.0)",
    );
  });
});
