import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Code as ConnectCode,
  ConnectError,
  createClient as createConnectClient,
  type Interceptor as ConnectInterceptor,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Code, type Client } from "@plexus/core";
import {
  bindService,
  createClient,
  createHttpUpstream,
  createNetworkTransport,
  createRpcServer,
  createServiceAuthenticator,
  createServiceCredentials,
  headerServiceToken,
  mintServiceToken,
  type RpcServer,
  type ServiceBinding,
} from "@plexus/rpc";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import {
  CatalogService,
  catalogBinding,
  catalogHandlers,
  createProbe,
  failure,
  useCleanups,
  type SeenContext,
  type TestProbe,
} from "./fixtures.ts";

const cleanups = useCleanups();
const key = randomBytes(32);
const catalog = CatalogService.typeName;
const otherKeyToken = mintServiceToken({
  key: randomBytes(32),
  caller: "gateway",
  callee: catalog,
});

async function startServer(
  options: { probe?: TestProbe; clock?: FakeClock; binding?: ServiceBinding } = {},
): Promise<RpcServer> {
  const probe = options.probe ?? createProbe();
  const server = await createRpcServer({
    services: [options.binding ?? catalogBinding(probe)],
    authenticator: createServiceAuthenticator({
      key,
      ...(options.clock ? { clock: options.clock } : {}),
    }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  cleanups.push(() => server.close());
  return server;
}

/** A stock Connect client sending `headers` (e.g. a token, a forged principal) on every call. */
function stockClient(server: RpcServer, headers: Record<string, string> = {}) {
  const setHeaders: ConnectInterceptor = (next) => async (request) => {
    for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl: server.address().url,
    httpVersion: "1.1",
    interceptors: [setHeaders],
  });
  return createConnectClient(CatalogService, transport);
}

async function connectFailure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

const forgedPrincipal = {
  "x-plexus-principal-subject": "admin",
  "x-plexus-principal-tier": "gold",
  "x-plexus-caller": "gateway",
};

describe("a Connect server with service authentication", () => {
  it("refuses a stock client without credentials: unauthenticated, handler not run", async () => {
    const probe = createProbe();
    const server = await startServer({ probe });
    const error = await connectFailure(stockClient(server).getProduct({ id: "ok" }));
    expect(error.code).toBe(ConnectCode.Unauthenticated);
    expect(probe.invocations).toBe(0);
  });

  it.each([
    ["no token", {}],
    ["a token signed with another key", { [headerServiceToken]: otherKeyToken }],
    ["garbage", { [headerServiceToken]: "not.a.token" }],
  ])("gives a forged principal with %s nothing", async (_name, token) => {
    const probe = createProbe();
    const server = await startServer({ probe });
    const headers = { ...forgedPrincipal, ...token };
    const error = await connectFailure(stockClient(server, headers).getProduct({ id: "ok" }));
    expect(error.code).toBe(ConnectCode.Unauthenticated);
    expect(probe.invocations).toBe(0);
  });

  it("refuses a token meant for another service", async () => {
    const probe = createProbe();
    const server = await startServer({ probe });
    const token = mintServiceToken({ key, caller: "tool", callee: "shop.users.v1.UsersService" });
    const error = await connectFailure(
      stockClient(server, { [headerServiceToken]: token }).getProduct({ id: "ok" }),
    );
    expect(error.code).toBe(ConnectCode.Unauthenticated);
    expect(error.rawMessage).toBe("service token meant for another service");
    expect(probe.invocations).toBe(0);
  });

  it("refuses a token once it expires, also after it was accepted (fake clock)", async () => {
    const clock = createFakeClock(1_700_000_000_000);
    const probe = createProbe();
    const server = await startServer({ probe, clock });
    const token = mintServiceToken({ key, caller: "tool", callee: catalog, clock, ttlMs: 60_000 });
    const client = stockClient(server, { [headerServiceToken]: token });
    await client.getProduct({ id: "ok" });
    expect(probe.invocations).toBe(1);

    clock.advance(60_000);
    const error = await connectFailure(client.getProduct({ id: "ok" }));
    expect(error.code).toBe(ConnectCode.Unauthenticated);
    expect(error.rawMessage).toBe("service token expired");
    // Expired before the server ever saw it: refused on first sight too.
    const late = mintServiceToken({ key, caller: "tool", callee: catalog, clock, ttlMs: 1_000 });
    clock.advance(1_000);
    const first = await connectFailure(
      stockClient(server, { [headerServiceToken]: late }).getProduct({ id: "ok" }),
    );
    expect(first.code).toBe(ConnectCode.Unauthenticated);
    expect(probe.invocations).toBe(1);
  });

  it("honours principal headers from an authenticated peer, and reports the token's caller", async () => {
    const server = await startServer();
    const token = mintServiceToken({ key, caller: "ops-tool", callee: catalog });
    const { product } = await stockClient(server, {
      ...forgedPrincipal,
      [headerServiceToken]: token,
    }).getProduct({ id: "context" });
    const seen = JSON.parse(product!.name) as SeenContext;
    expect(seen.principal).toEqual({ subject: "admin", tier: "gold" });
    // `x-plexus-caller: gateway` is a claim; the token says who is calling.
    expect(seen.caller).toBe("ops-tool");
  });
});

describe("Plexus's network transport with service credentials", () => {
  it("authenticates each hop between two servers as its caller", async () => {
    const downstream = await startServer();
    const credentials = createServiceCredentials({ key, service: "edge-host" });
    const toDownstream = createNetworkTransport({
      baseUrl: downstream.address().url,
      credentials,
    });
    cleanups.push(() => toDownstream.close());
    const client: Client<typeof CatalogService> = createClient(CatalogService, toDownstream, {
      caller: "catalog-proxy",
    });
    const upstreamServer = await startServer({
      binding: catalogBinding(createProbe(), () => client),
    });

    const toUpstream = createNetworkTransport({
      baseUrl: upstreamServer.address().url,
      credentials,
    });
    cleanups.push(() => toUpstream.close());
    const { product } = await createClient(CatalogService, toUpstream).getProduct({ id: "hop" });
    const hop = JSON.parse(product!.name) as { self: SeenContext; downstream: string };
    expect(hop.self.caller).toBe("edge-host");
    expect((JSON.parse(hop.downstream) as SeenContext).caller).toBe("catalog-proxy");
  });

  it("without credentials gets Unauthenticated", async () => {
    const server = await startServer();
    const transport = createNetworkTransport({ baseUrl: server.address().url });
    cleanups.push(() => transport.close());
    const error = await failure(createClient(CatalogService, transport).getProduct({ id: "ok" }));
    expect(error.code).toBe(Code.Unauthenticated);
  });

  it("reuses one token per (caller, callee) and mints a new one before it expires", () => {
    const clock = createFakeClock(1_700_000_000_000);
    const credentials = createServiceCredentials({ key, service: "host", clock });
    const first = credentials.tokenFor("orders", catalog);
    expect(credentials.tokenFor("orders", catalog)).toBe(first);
    expect(credentials.tokenFor("payments", catalog)).not.toBe(first);
    clock.advance(3 * 60_000);
    expect(credentials.tokenFor("orders", catalog)).toBe(first);
    clock.advance(60_000 + 1);
    const second = credentials.tokenFor("orders", catalog);
    expect(second).not.toBe(first);
    // The new token still has minutes to live: a server on the same clock accepts it.
    const authenticator = createServiceAuthenticator({ key, clock });
    clock.advance(4 * 60_000 - 1);
    expect(authenticator.authenticate(second, catalog)).toBe("orders");
  });

  it("never sends the service token (nor the principal) to an HTTP upstream", async () => {
    const seenHeaders: Record<string, string | string[] | undefined>[] = [];
    const thirdParty = createServer((req, res) => {
      seenHeaders.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => thirdParty.listen(0, "127.0.0.1", resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          thirdParty.closeAllConnections();
          thirdParty.close(() => resolve());
        }),
    );
    const upstream = createHttpUpstream({
      name: "card-provider",
      url: `http://127.0.0.1:${(thirdParty.address() as AddressInfo).port}`,
    });
    cleanups.push(() => upstream.close());
    const handlers = catalogHandlers(createProbe());
    const server = await startServer({
      binding: bindService(CatalogService, {
        ...handlers,
        async getProduct(request, ctx) {
          await upstream.request({ method: "GET", path: "/charge" });
          return handlers.getProduct(request, ctx);
        },
      }),
    });
    const token = mintServiceToken({ key, caller: "orders", callee: catalog });
    await stockClient(server, { ...forgedPrincipal, [headerServiceToken]: token }).getProduct({
      id: "ok",
    });
    expect(seenHeaders).toHaveLength(1);
    const sent = Object.keys(seenHeaders[0]!);
    expect(sent).not.toContain(headerServiceToken);
    expect(sent.filter((name) => name.startsWith("x-plexus-principal"))).toEqual([]);
  });
});
