import { createServer, type OutgoingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Code,
  PlexusError,
  type Clock,
  type RpcInterceptor,
  type ServiceHandlers,
} from "@plexus/core";
import { constantBackoff, createClientResilience } from "@plexus/resilience";
import {
  bindService,
  createClient,
  createInProcessTransport,
  createNetworkTransport,
  createRpcServer,
  encodeConnectError,
  type NetworkTransportOptions,
} from "@plexus/rpc";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import {
  cachedProduct,
  CatalogService,
  catalogHandlers,
  createProbe,
  failure,
  useCleanups,
} from "./fixtures.ts";

const cleanups = useCleanups();
const getProductPath = "/shop.catalog.v1.CatalogService/GetProduct";

/**
 * Catalog handlers whose `getProduct` fails its first `failures` calls with `code` and the
 * pushback `retryAfterMs` (none when undefined), then answers the cached product.
 */
function pushbackHandlers(
  retryAfterMs: string | undefined,
  { code = Code.ResourceExhausted, failures = Infinity }: { code?: Code; failures?: number } = {},
) {
  const calls = { count: 0 };
  const handlers: ServiceHandlers<typeof CatalogService> = {
    ...catalogHandlers(createProbe()),
    async getProduct() {
      calls.count++;
      if (calls.count > failures) return { product: cachedProduct };
      throw new PlexusError(code, "slow down", {
        metadata: retryAfterMs === undefined ? undefined : { retryAfterMs },
      });
    },
  };
  return { calls, handlers };
}

async function startServer(handlers: ServiceHandlers<typeof CatalogService>): Promise<string> {
  const server = await createRpcServer({ services: [bindService(CatalogService, handlers)] });
  cleanups.push(() => server.close());
  return server.address().url;
}

function networkClient(
  baseUrl: string,
  options: Omit<NetworkTransportOptions, "baseUrl"> = {},
  interceptors: RpcInterceptor[] = [],
  clock?: Clock,
) {
  // One clock for the policies and the transport: per-try deadlines are on the fake clock.
  const transport = createNetworkTransport({ baseUrl, clock, ...options });
  cleanups.push(() => transport.close());
  return createClient(CatalogService, transport, { interceptors, clock });
}

interface PlainAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/** A plain `node:http` server (no Plexus) giving `answers` in turn, the last one from then on. */
async function plainServer(answers: PlainAnswer[]): Promise<{ url: string; calls: number }> {
  const state = { url: "", calls: 0 };
  const server = createServer((req, res) => {
    req.resume();
    const answer = answers[Math.min(state.calls++, answers.length - 1)]!;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Just enough Connect error JSON: a code and a message, no details (so no metadata). */
function connectError(status: number, headers: OutgoingHttpHeaders): PlainAnswer {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ code: "unavailable", message: "busy" }),
  };
}

describe("pushback from a Plexus server", () => {
  it.each(["1.1", "2"] as const)(
    "reaches the client as metadata.retryAfterMs (HTTP/%s)",
    async (httpVersion) => {
      const url = await startServer(pushbackHandlers("250").handlers);
      const error = await failure(networkClient(url, { httpVersion }).getProduct({ id: "p-1" }));
      expect(error.code).toBe(Code.ResourceExhausted);
      expect(error.metadata).toEqual({ retryAfterMs: "250" });
    },
  );

  it("is on the wire as grpc-retry-pushback-ms and Retry-After, and in the body once", async () => {
    const url = await startServer(pushbackHandlers("250").handlers);
    const res = await fetch(url + getProductPath, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "p-1" }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("grpc-retry-pushback-ms")).toBe("250");
    expect(res.headers.get("retry-after")).toBe("1");
    // Metadata is no header of its own: it travels in the ErrorInfo detail.
    expect(res.headers.has("retryafterms")).toBe(false);
    const body = (await res.json()) as { details: { debug: { metadata: object } }[] };
    expect(body.details[0]!.debug.metadata).toEqual({ retryAfterMs: "250" });
  });

  it("says 'do not retry' as grpc-retry-pushback-ms -1 and no Retry-After", async () => {
    const url = await startServer(pushbackHandlers("soon", { code: Code.Unavailable }).handlers);
    const res = await fetch(url + getProductPath, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "p-1" }),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(503);
    expect(res.headers.get("grpc-retry-pushback-ms")).toBe("-1");
    expect(res.headers.has("retry-after")).toBe(false);
  });

  it("sends neither header for an error without a pushback", async () => {
    const url = await startServer(pushbackHandlers(undefined).handlers);
    const res = await fetch(url + getProductPath, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "p-1" }),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(429);
    expect(res.headers.has("grpc-retry-pushback-ms")).toBe(false);
    expect(res.headers.has("retry-after")).toBe(false);
  });
});

describe("pushback from any server's headers", () => {
  it("reads a 503's Retry-After: 2 into retryAfterMs 2000", async () => {
    const server = await plainServer([connectError(503, { "retry-after": "2" })]);
    const error = await failure(networkClient(server.url).getProduct({ id: "p-1" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).toBe("busy");
    expect(error.metadata).toEqual({ retryAfterMs: "2000" });
  });

  it("reads an HTTP-date Retry-After against the transport's clock, even without a Connect body", async () => {
    const clock = createFakeClock(Date.parse("2025-01-01T00:00:00Z"));
    const server = await plainServer([
      {
        status: 503,
        headers: { "content-type": "text/html", "retry-after": "Wed, 01 Jan 2025 00:00:05 GMT" },
        body: "<h1>down for maintenance</h1>",
      },
    ]);
    const error = await failure(networkClient(server.url, { clock }).getProduct({ id: "p-1" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.metadata).toEqual({ retryAfterMs: "5000" });
  });

  it.each([
    [{ "grpc-retry-pushback-ms": "250" }, "250"],
    [{ "grpc-retry-pushback-ms": "250", "retry-after": "7" }, "250"],
    [{ "grpc-retry-pushback-ms": "-1" }, "-1"],
    [{ "grpc-retry-pushback-ms": "soon", "retry-after": "7" }, "-1"],
    [{ "grpc-retry-pushback-ms": "007" }, "-1"],
    [{ "retry-after": "soon" }, undefined],
    [{ "retry-after": "1.5" }, undefined],
    [{}, undefined],
  ])(
    "headers %j give retryAfterMs %s (gRFC A6: bad pushback means no retry)",
    async (headers, expected) => {
      const server = await plainServer([connectError(503, headers)]);
      const error = await failure(networkClient(server.url).getProduct({ id: "p-1" }));
      expect(error.metadata["retryAfterMs"]).toBe(expected);
    },
  );

  it("keeps the pushback a Connect body states over the headers' rounded one", async () => {
    const server = await plainServer([
      {
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "1" },
        body: Buffer.from(
          encodeConnectError(
            new PlexusError(Code.ResourceExhausted, "slow down", {
              metadata: { retryAfterMs: "250" },
            }),
          ),
        ).toString(),
      },
    ]);
    const error = await failure(networkClient(server.url).getProduct({ id: "p-1" }));
    expect(error.metadata).toEqual({ retryAfterMs: "250" });
  });
});

describe("pushback in process", () => {
  it("survives the in-process transport as is", async () => {
    const { handlers } = pushbackHandlers("250");
    const transport = createInProcessTransport({
      services: [bindService(CatalogService, handlers)],
    });
    const error = await failure(createClient(CatalogService, transport).getProduct({ id: "p-1" }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.metadata).toEqual({ retryAfterMs: "250" });
  });
});

/** A callee that fails once with a 250 ms pushback, then answers; and how often it was called. */
type Callee = (
  interceptors: RpcInterceptor[],
  clock: Clock,
) => Promise<{ catalog: ReturnType<typeof networkClient>; calls: () => number }>;

const callees: [string, Callee][] = [
  [
    "a Plexus server",
    async (interceptors, clock) => {
      const { calls, handlers } = pushbackHandlers("250", { failures: 1 });
      const url = await startServer(handlers);
      return { catalog: networkClient(url, {}, interceptors, clock), calls: () => calls.count };
    },
  ],
  [
    "the in-process transport",
    async (interceptors, clock) => {
      const { calls, handlers } = pushbackHandlers("250", { failures: 1 });
      const transport = createInProcessTransport({
        services: [bindService(CatalogService, handlers)],
        clock,
      });
      const catalog = createClient(CatalogService, transport, { interceptors, clock });
      return { catalog, calls: () => calls.count };
    },
  ],
  [
    "a plain server's grpc-retry-pushback-ms header",
    async (interceptors, clock) => {
      const server = await plainServer([
        connectError(503, { "grpc-retry-pushback-ms": "250" }),
        {
          status: 200,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ product: { id: "p-1", name: "Kettle" } }),
        },
      ]);
      const catalog = networkClient(server.url, { codec: "json" }, interceptors, clock);
      return { catalog, calls: () => server.calls };
    },
  ],
];

describe("client resilience honours a transport's pushback", () => {
  it.each(callees)("retries after the pushback, not the backoff (%s)", async (_name, callee) => {
    const clock = createFakeClock(1_000_000);
    const delays: number[] = [];
    let retried!: () => void;
    const retryScheduled = new Promise<void>((resolve) => (retried = resolve));
    const resilience = createClientResilience({
      clock,
      defaults: { retry: { maxAttempts: 3, backoff: constantBackoff(5_000) } },
      onRetry: ({ delayMs }) => {
        delays.push(delayMs);
        retried();
      },
    });
    const { catalog, calls } = await callee(resilience.interceptors, clock);

    const outcome = catalog.getProduct({ id: "p-1" });
    await retryScheduled;
    expect(delays).toEqual([250]);
    await clock.advanceAsync(249);
    expect(calls()).toBe(1);
    await clock.advanceAsync(1);
    const { product } = await outcome;
    expect(product?.id).toBe("p-1");
    expect(calls()).toBe(2);
  });

  it("does not retry when a plain server's pushback says so", async () => {
    const clock = createFakeClock(1_000_000);
    const delays: number[] = [];
    const resilience = createClientResilience({
      clock,
      defaults: { retry: { maxAttempts: 3, backoff: constantBackoff(5_000) } },
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    const server = await plainServer([connectError(503, { "grpc-retry-pushback-ms": "-1" })]);
    const catalog = networkClient(server.url, {}, resilience.interceptors, clock);
    const error = await failure(catalog.getProduct({ id: "p-1" }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.metadata).toEqual({ retryAfterMs: "-1" });
    expect(delays).toEqual([]);
    expect(server.calls).toBe(1);
  });
});
