import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHealthRegistry, createLogger, StartupError } from "@plexus/core";
import { createMetrics } from "@plexus/observability";
import { afterEach, describe, expect, it } from "vitest";
import { createAdminApi } from "./admin-api.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

function adminApi(token: string | undefined) {
  return createAdminApi({
    token,
    sagas: new Map(),
    deadLetters: new Map(),
    projections: new Map(),
    health: createHealthRegistry(),
    metrics: createMetrics(),
    logger: createLogger({ name: "admin-test", level: "silent" }),
  });
}

/** Serves the admin API alone on a free loopback port. */
async function serve(token: string | undefined): Promise<string> {
  const api = adminApi(token);
  server = createServer(api.listener);
  await new Promise<void>((done) => server!.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("the admin API without PLEXUS_ADMIN_TOKEN", () => {
  it("is off: 404 on every route, with or without a bearer token, never open", async () => {
    const url = await serve(undefined);
    for (const [method, path] of [
      ["GET", "/_plexus/api/health"],
      ["GET", "/_plexus/api/projections/orders"],
      ["POST", "/_plexus/api/sagas/orders/x/retry"],
      ["DELETE", "/_plexus/api/dead-letters/notifications/1"],
    ] as const) {
      for (const headers of [{}, { authorization: "Bearer anything-anything-anything" }]) {
        const reply = await fetch(`${url}${path}`, { method, headers });
        expect(reply.status).toBe(404);
        expect(((await reply.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
      }
    }
  });
});

describe("PLEXUS_ADMIN_TOKEN", () => {
  it("shorter than 16 characters is a start-up error that never shows the token", () => {
    const error = (() => {
      try {
        adminApi("short-secret");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toMatch(
      /^PLEXUS_ADMIN_TOKEN must be at least 16 characters, got 12 characters: set PLEXUS_ADMIN_TOKEN to a longer secret/,
    );
    expect((error as Error).message).not.toContain("short-secret");
  });
});
