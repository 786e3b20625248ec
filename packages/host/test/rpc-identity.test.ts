import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createLogger, currentContext, defineService, PlexusError } from "@plexus/core";
import {
  createClient,
  createNetworkTransport,
  createServiceCredentials,
  type NetworkTransport,
} from "@plexus/rpc";
import { createTestDatabase, requireServer, type TestDatabase } from "@plexus/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import { startHost, type Host } from "../src/host.ts";
import { loadServiceKey } from "../src/service-key.ts";

// Postgres rather than PGlite: opening an on-disk PGlite costs seconds per start, and these
// tests are about the RPC port, not storage.
const postgresUp = await requireServer("postgres");
let database: TestDatabase | undefined;
beforeAll(async () => {
  if (postgresUp) database = await createTestDatabase({ prefix: "plexus_host_rpc" });
});
afterAll(async () => {
  await database?.drop();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function unused(): Promise<never> {
  throw new PlexusError(Code.Unimplemented, "not used");
}

/** Answers who called and for whom, as the host's RPC server established it. */
const whoami = defineService({
  name: "whoami",
  contract: CatalogService,
  migrations: [],
  create: () => ({
    handlers: {
      getProducts: unused,
      reserveStock: unused,
      releaseStock: unused,
      listProducts: unused,
      async getProduct() {
        const ctx = currentContext();
        return { product: { id: ctx?.caller ?? "", name: ctx?.principal?.subject ?? "" } };
      },
    },
  }),
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "plexus-rpc-identity-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(config: Record<string, string>): Promise<Host> {
  const host = await startHost({
    spec: { name: "identity-test", services: [whoami] },
    config: { DATABASE_URL: database!.url, ...config },
    logger: createLogger({ name: "identity-test", level: "silent" }),
    exit: () => {},
  });
  cleanups.push(() => host.close());
  return host;
}

function transportTo(host: Host, key?: Uint8Array): NetworkTransport {
  const transport = createNetworkTransport({
    baseUrl: host.rpcUrl!,
    ...(key ? { credentials: createServiceCredentials({ key, service: "ops-tool" }) } : {}),
  });
  cleanups.push(() => transport.close());
  return transport;
}

describe.runIf(postgresUp)("a host's RPC port", () => {
  it("listens on PLEXUS_RPC_HOST (default loopback, whatever PLEXUS_HOST says) and requires the data dir's key, kept across restarts", async () => {
    const dataDir = await tempDir();
    const config = { PLEXUS_DATA_DIR: dataDir, PLEXUS_RPC_PORT: "0", PLEXUS_HOST: "127.0.0.2" };
    const first = await start(config);
    expect(first.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const key = await loadServiceKey({ config: {}, dataDir });

    const anonymous = createClient(CatalogService, transportTo(first));
    const refused = await anonymous
      .getProduct({ id: "x" }, { headers: { "x-plexus-principal-subject": "admin" } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PlexusError);
    expect((refused as PlexusError).code).toBe(Code.Unauthenticated);

    const authenticated = createClient(CatalogService, transportTo(first, key), {
      caller: "orders",
    });
    const { product } = await authenticated.getProduct({ id: "x" });
    expect(product?.id).toBe("orders");
    // In process, no token: the call never leaves the host.
    const local = first.clientsFor("in-process").client(CatalogService);
    expect((await local.getProduct({ id: "x" })).product?.id).toBe("in-process");
    await first.close();

    const second = await start({ ...config, PLEXUS_RPC_HOST: "127.0.0.3" });
    expect(second.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.3:\d+$/);
    const again = createClient(CatalogService, transportTo(second, key));
    expect((await again.getProduct({ id: "x" })).product?.id).toBe("ops-tool");
  });
});

describe("a host's service key", () => {
  it("fails the start when PLEXUS_SERVICE_KEY is invalid, before opening anything", async () => {
    const dataDir = await tempDir();
    await expect(
      startHost({
        spec: { name: "identity-test", services: [whoami] },
        // PGlite on the data dir: opening it first would leave files there.
        config: { PLEXUS_DATA_DIR: dataDir, PLEXUS_SERVICE_KEY: "too-short" },
        logger: createLogger({ name: "identity-test", level: "silent" }),
        exit: () => {},
      }),
    ).rejects.toThrow(/^PLEXUS_SERVICE_KEY must be at least 32 random bytes in base64url/);
    expect(await readdir(dataDir)).toEqual([]);
  });
});
