import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { adminBaseUrl, createAdminClient } from "./admin-client.ts";
import { CommandFailure } from "./report-failure.ts";

describe("adminBaseUrl", () => {
  it("is --url when given, else where the host listens: PLEXUS_HOST and PORT", () => {
    const url = new URL("https://admin.example:9443/");
    expect(adminBaseUrl(url, { PORT: "1" })).toBe(url);
    expect(adminBaseUrl(undefined, {}).href).toBe("http://127.0.0.1:8080/");
    expect(adminBaseUrl(undefined, { PORT: "9000", PLEXUS_HOST: "10.0.0.5" }).href).toBe(
      "http://10.0.0.5:9000/",
    );
    // A host bound to every address is reached on the loopback.
    expect(adminBaseUrl(undefined, { PLEXUS_HOST: "0.0.0.0" }).href).toBe("http://127.0.0.1:8080/");
    expect(adminBaseUrl(undefined, { PLEXUS_HOST: "::" }).href).toBe("http://[::1]:8080/");
  });

  it("refuses PORT=0, which names no port to reach", () => {
    expect(() => adminBaseUrl(undefined, { PORT: "0" })).toThrow(CommandFailure);
  });
});

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

/** A host that answers every request with `status` and `body`. */
async function answering(status: number, body: string): Promise<URL> {
  server = createServer((_req, res) => res.writeHead(status).end(body));
  await new Promise<void>((done) => server!.listen(0, "127.0.0.1", done));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

const env = { PLEXUS_ADMIN_TOKEN: "a-token-of-sixteen-chars" };

async function failureOf(status: number, body: string): Promise<CommandFailure> {
  const client = createAdminClient({ url: await answering(status, body), env });
  return client.call("GET", "/_plexus/api/health").then(
    () => {
      throw new Error("resolved");
    },
    (error: unknown) => error as CommandFailure,
  );
}

describe("createAdminClient", () => {
  it("needs PLEXUS_ADMIN_TOKEN", () => {
    expect(() => createAdminClient({ url: undefined, env: {} })).toThrow(/no admin token/);
  });

  it("resolves with the answer's data", async () => {
    const client = createAdminClient({ url: await answering(200, '{"data":[1]}'), env });
    expect(await client.call("GET", "/x")).toEqual([1]);
  });

  it("turns an error answer into problem and fix, the host's message kept on one line", async () => {
    const error = '{"error":{"code":"INTERNAL","message":"boom\\nboom","requestId":"r-1"}}';
    expect(await failureOf(500, error)).toMatchObject({
      problem: "boom boom (500 INTERNAL)",
      fix: "see the host's log for request r-1, then try again",
    });
    expect(
      await failureOf(401, '{"error":{"code":"UNAUTHENTICATED","message":"no"}}'),
    ).toMatchObject({
      fix: "set PLEXUS_ADMIN_TOKEN to the admin token the host runs with",
    });
  });

  it("says so when the address answers, but not as the admin API", async () => {
    for (const [status, body] of [
      [200, "<html>"],
      [502, "bad gateway"],
      [200, "[]"],
    ] as const) {
      expect((await failureOf(status, body)).problem).toMatch(/without the admin API's JSON/);
    }
  });
});
