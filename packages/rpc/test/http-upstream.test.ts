import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  Code,
  PlexusError,
  codeToConnectName,
  formatTraceparent,
  runInContext,
  type CallContext,
  type HttpUpstream,
} from "@plexus/core";
import {
  createClientResilience,
  retryAfterKey,
  type ClientResilience,
  type ClientResilienceOptions,
} from "@plexus/resilience";
import {
  createHttpClients,
  createHttpUpstream,
  type HttpUpstreamCall,
  type HttpUpstreamInterceptor,
  type HttpUpstreamOptions,
} from "@plexus/rpc";
import {
  countAbortControllers,
  countingTimers,
  createFakeClock,
  type FakeClock,
} from "@plexus/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import { failure, useCleanups } from "./fixtures.ts";

/** One request as the upstream saw it. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Resolves when the client went away before the answer was complete. */
  readonly aborted: Promise<void>;
}

/** How the upstream answers its `hit`-th request (1-based); leaving `res` open hangs it. */
type Reply = (res: ServerResponse, hit: number) => void;

interface TestUpstreamServer {
  readonly url: string;
  readonly seen: Seen[];
  /** Resolves once the server has seen `count` requests. */
  received(count: number): Promise<Seen>;
  /** Resolves once every connection the server accepted is closed. */
  connectionsClosed(): Promise<void>;
}

const cleanups = useCleanups();

async function startUpstreamServer(reply: Reply): Promise<TestUpstreamServer> {
  const seen: Seen[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const closed: Promise<void>[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const aborted = new Promise<void>((resolve) => {
        res.on("close", () => {
          if (!res.writableFinished) resolve();
        });
      });
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, aborted });
      for (const waiter of waiters.filter((w) => seen.length >= w.count)) waiter.resolve();
      reply(res, seen.length);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    closed.push(new Promise((resolve) => socket.on("close", () => resolve())));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    received(count) {
      if (seen.length >= count) return Promise.resolve(seen[count - 1]!);
      return new Promise((resolve) =>
        waiters.push({ count, resolve: () => resolve(seen[count - 1]!) }),
      );
    },
    async connectionsClosed() {
      await Promise.all(closed);
    },
  };
}

function answer(status: number, body = "", headers: Record<string, string> = {}): Reply {
  return (res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  };
}

const hang: Reply = () => {};

/** `first` for the first request, `then` for every later one. */
function firstThen(first: Reply, then: Reply): Reply {
  return (res, hit) => (hit === 1 ? first : then)(res, hit);
}

function upstreamTo(
  server: TestUpstreamServer,
  options: Partial<HttpUpstreamOptions> = {},
): HttpUpstream {
  const upstream = createHttpUpstream({ name: "up", url: server.url, ...options });
  cleanups.push(() => upstream.destroy());
  return upstream;
}

interface Pipeline {
  readonly clock: FakeClock;
  readonly resilience: ClientResilience;
  /** The delays of the retries scheduled so far. */
  readonly retries: number[];
  /** Resolves when the `count`-th retry is scheduled. */
  readonly retried: (count: number) => Promise<void>;
}

/** A client pipeline on a fake clock: backoffs and timeouts move only when the test says so. */
function pipeline(options: ClientResilienceOptions = {}): Pipeline {
  const clock = createFakeClock(1_700_000_000_000);
  const retries: number[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const resilience = createClientResilience({
    ...options,
    clock,
    random: () => 0.5,
    onRetry({ delayMs }) {
      retries.push(delayMs);
      for (const waiter of waiters.filter((w) => retries.length >= w.count)) waiter.resolve();
    },
  });
  cleanups.push(async () => resilience[Symbol.dispose]());
  return {
    clock,
    resilience,
    retries,
    retried: (count) =>
      retries.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
  };
}

const parentTrace = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  flags: "01",
};

describe("createHttpUpstream", () => {
  it("sends the correlation id, a child traceparent, the deadline and the idempotency key, not the internal headers", async () => {
    const server = await startUpstreamServer(answer(200, '{"ok":true}'));
    const clock = createFakeClock(1_700_000_000_000);
    const upstream = upstreamTo(server, { url: `${server.url}/base/`, clock });
    const context: CallContext = {
      correlationId: "corr-42",
      requestId: "req-1",
      trace: parentTrace,
      deadline: clock.now() + 5_000,
      principal: { subject: "user-1", tier: "gold" },
      caller: "orders",
    };

    const response = await runInContext(context, () =>
      upstream.request({
        method: "post",
        path: "/v1/charges?x=1",
        headers: { "content-type": "application/json" },
        body: '{"amount":"1"}',
        idempotencyKey: "key-1",
        timeoutMs: 2_000,
      }),
    );

    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ ok: true });
    const [seen] = server.seen;
    expect(seen).toMatchObject({
      method: "POST",
      url: "/base/v1/charges?x=1",
      body: '{"amount":"1"}',
    });
    expect(seen!.headers).toMatchObject({
      "x-correlation-id": "corr-42",
      "idempotency-key": "key-1",
      "content-type": "application/json",
      // The earlier of the context's 5 s and the request's 2 s.
      "x-plexus-timeout-ms": "2000",
    });
    const [version, traceId, spanId] = String(seen!.headers.traceparent).split("-");
    expect([version, traceId]).toEqual(["00", parentTrace.traceId]);
    expect(spanId).not.toBe(parentTrace.spanId);
    for (const internal of [
      "x-plexus-principal-subject",
      "x-plexus-principal-tier",
      "x-plexus-caller",
    ]) {
      expect(seen!.headers[internal]).toBeUndefined();
    }
  });

  it("bounds each attempt's x-plexus-timeout-ms by the per-try timeout", async () => {
    const server = await startUpstreamServer(answer(204));
    const { clock, resilience } = pipeline({ callees: { up: { perTryTimeoutMs: 300 } } });
    const upstream = upstreamTo(server, { clock, resilience });

    await upstream.request({ method: "GET", path: "/", timeoutMs: 2_000 });
    await upstream.request({ method: "GET", path: "/" });

    expect(server.seen.map((s) => s.headers["x-plexus-timeout-ms"])).toEqual(["300", "300"]);
  });

  it("retries an idempotent GET after a 503, waiting as long as Retry-After asks", async () => {
    const server = await startUpstreamServer(
      firstThen(answer(503, "", { "retry-after": "2" }), answer(200, "[1]")),
    );
    const { clock, resilience, retries, retried } = pipeline();
    const upstream = upstreamTo(server, { clock, resilience });

    const response = upstream.request({ method: "GET", path: "/items" });
    await retried(1);
    expect(retries).toEqual([2_000]);
    expect(server.seen).toHaveLength(1);
    await clock.advanceAsync(2_000);

    expect((await response).json()).toEqual([1]);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.headers["x-plexus-previous-attempts"]).toBeUndefined();
  });

  it("never retries a POST without an idempotency key", async () => {
    const server = await startUpstreamServer(answer(503, "", { "retry-after": "1" }));
    const { clock, resilience, retries } = pipeline();
    const upstream = upstreamTo(server, { clock, resilience });

    const error = await failure(upstream.request({ method: "POST", path: "/charges", body: "{}" }));

    expect(error.code).toBe(Code.Unavailable);
    expect(error.metadata[retryAfterKey]).toBe("1000");
    expect(server.seen).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it("retries a POST that carries an idempotency key, with the same key", async () => {
    const server = await startUpstreamServer(
      firstThen(answer(503, "", { "retry-after": "1" }), answer(201, "{}")),
    );
    const { clock, resilience, retried } = pipeline();
    const upstream = upstreamTo(server, { clock, resilience });

    const response = upstream.request({
      method: "POST",
      path: "/charges",
      body: "{}",
      idempotencyKey: "key-7",
    });
    await retried(1);
    await clock.advanceAsync(1_000);

    expect((await response).status).toBe(201);
    expect(server.seen.map((s) => s.headers["idempotency-key"])).toEqual(["key-7", "key-7"]);
  });

  it("runs interceptors once per request, retries inside, under the ids every attempt sends", async () => {
    const server = await startUpstreamServer(
      firstThen(answer(503, "", { "retry-after": "1" }), answer(200, "[1]")),
    );
    const { clock, resilience, retried } = pipeline();
    const calls: HttpUpstreamCall[] = [];
    const statuses: (number | undefined)[] = [];
    const upstream = upstreamTo(server, {
      url: `${server.url}/base`,
      clock,
      resilience,
      interceptors: [
        (next) => async (call) => {
          calls.push(call);
          statuses.push(call.status);
          try {
            return await next(call);
          } finally {
            statuses.push(call.status);
          }
        },
      ],
    });

    const response = runInContext({ correlationId: "c", requestId: "r", trace: parentTrace }, () =>
      upstream.request({ method: "GET", path: "/items?page=2", operation: "list" }),
    );
    await retried(1);
    await clock.advanceAsync(1_000);
    expect((await response).status).toBe(200);

    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({
      upstream: "up",
      method: "GET",
      operation: "list",
      url: `${server.url}/base/items`,
      host: "127.0.0.1",
      port: Number(new URL(server.url).port),
    });
    expect(call!.trace.traceId).toBe(parentTrace.traceId);
    expect(server.seen.map((s) => s.headers.traceparent)).toEqual([
      formatTraceparent(call!.trace),
      formatTraceparent(call!.trace),
    ]);
    // The latest response's status, kept up to date across the attempts.
    expect(statuses).toEqual([undefined, 200]);
  });

  it("tells interceptors the status of a response thrown as a failure", async () => {
    const server = await startUpstreamServer(answer(503));
    let status: number | undefined;
    const upstream = upstreamTo(server, {
      interceptors: [
        (next) => async (call) => {
          try {
            return await next(call);
          } finally {
            status = call.status;
          }
        },
      ],
    });
    expect((await failure(upstream.request({ method: "GET", path: "/" }))).code).toBe(
      Code.Unavailable,
    );
    expect(status).toBe(503);
  });

  it("runs interceptors first listed outermost; one may rewrite the call, answer, or refuse", async () => {
    const server = await startUpstreamServer(answer(200, "[]"));
    const log: string[] = [];
    const logged =
      (name: string): HttpUpstreamInterceptor =>
      (next) =>
      async (call) => {
        log.push(`>${name}`);
        try {
          return await next(call);
        } finally {
          log.push(`<${name}`);
        }
      };
    const authorize: HttpUpstreamInterceptor = (next) => (call) => {
      if (call.operation === "forbidden") {
        return Promise.reject(new PlexusError(Code.PermissionDenied, "not for you"));
      }
      return next({ ...call, headers: { ...call.headers, authorization: "Bearer t" } });
    };
    const cached: HttpUpstreamInterceptor = (next) => async (call) =>
      call.operation === "cached"
        ? { status: 200, headers: {}, body: "[1]", json: () => [1] }
        : next(call);
    const upstream = upstreamTo(server, {
      interceptors: [logged("outer"), authorize, cached, logged("inner")],
    });

    expect((await upstream.request({ method: "GET", path: "/" })).status).toBe(200);
    expect(log).toEqual([">outer", ">inner", "<inner", "<outer"]);
    expect(server.seen[0]?.headers.authorization).toBe("Bearer t");
    expect(
      (await upstream.request({ method: "GET", path: "/", operation: "cached" })).json(),
    ).toEqual([1]);
    const refused = await failure(
      upstream.request({ method: "GET", path: "/", operation: "forbidden" }),
    );
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(server.seen).toHaveLength(1);
  });

  it("returns 4xx answers (not failures to the breaker) and throws 5xx, 408 and 429", async () => {
    const statuses = [402, 409, 422, 404, 500, 408, 429];
    const server = await startUpstreamServer((res, hit) =>
      answer(statuses[hit - 1]!, '{"error":{"code":"card_declined"}}')(res, hit),
    );
    const { clock, resilience } = pipeline({ callees: { up: { retry: false } } });
    const calls: { method: string; code: string }[] = [];
    const observe: HttpUpstreamInterceptor = (next) => async (call) => {
      const method = call.operation ?? call.method;
      try {
        const response = await next(call);
        calls.push({ method, code: "ok" });
        return response;
      } catch (error) {
        calls.push({ method, code: codeToConnectName(PlexusError.from(error).code) });
        throw error;
      }
    };
    const upstream = upstreamTo(server, { clock, resilience, interceptors: [observe] });

    for (const status of [402, 409, 422, 404]) {
      const response = await upstream.request({ method: "POST", path: "/", operation: "charge" });
      expect(response.status).toBe(status);
      expect(response.json()).toEqual({ error: { code: "card_declined" } });
    }
    const failures = [];
    for (let i = 0; i < 3; i++)
      failures.push(await failure(upstream.request({ method: "GET", path: "/" })));

    expect(failures.map((e) => e.code)).toEqual([
      Code.Unknown,
      Code.DeadlineExceeded,
      Code.ResourceExhausted,
    ]);
    expect(resilience.circuitBreaker("up")!.metrics()).toMatchObject({ calls: 7, failedCalls: 3 });
    expect(calls.map(({ method, code }) => `${method} ${code}`)).toEqual([
      "charge ok",
      "charge ok",
      "charge ok",
      "charge ok",
      "GET unknown",
      "GET deadline_exceeded",
      "GET resource_exhausted",
    ]);
  });

  it("lets the isFailure option decide which statuses are failures", async () => {
    const server = await startUpstreamServer(answer(409));
    const upstream = upstreamTo(server, { isFailure: (status) => status === 409 });

    const error = await failure(upstream.request({ method: "GET", path: "/" }));

    expect(error.code).toBe(Code.Aborted);
  });

  it("opens the upstream's breaker after failures: further requests never reach it", async () => {
    const server = await startUpstreamServer(answer(500));
    const { clock, resilience } = pipeline({
      callees: {
        up: {
          retry: false,
          circuitBreaker: {
            slidingWindow: { type: "count", size: 4 },
            minimumNumberOfCalls: 4,
            failureRateThreshold: 50,
            openWaitMs: 60_000,
          },
        },
      },
    });
    const upstream = upstreamTo(server, { clock, resilience });

    for (let i = 0; i < 4; i++) {
      expect((await failure(upstream.request({ method: "GET", path: "/" }))).code).toBe(
        Code.Unknown,
      );
    }
    const refused = await failure(upstream.request({ method: "GET", path: "/" }));

    expect(refused.code).toBe(Code.Unavailable);
    expect(resilience.circuitBreaker("up")!.state).toBe("open");
    expect(server.seen).toHaveLength(4);
  });

  it("fails DeadlineExceeded at the deadline and aborts the request the upstream is working on", async () => {
    const server = await startUpstreamServer(hang);
    const clock = createFakeClock(1_700_000_000_000);
    const upstream = upstreamTo(server, { clock });

    const failed = failure(upstream.request({ method: "GET", path: "/slow", timeoutMs: 1_000 }));
    const seen = await server.received(1);
    clock.advance(1_000);

    expect((await failed).code).toBe(Code.DeadlineExceeded);
    await seen.aborted;
  });

  it("fails DeadlineExceeded at the per-try timeout of the pipeline", async () => {
    const server = await startUpstreamServer(hang);
    const { clock, resilience } = pipeline({
      callees: { up: { retry: false, perTryTimeoutMs: 500 } },
    });
    const upstream = upstreamTo(server, { clock, resilience });

    const failed = failure(upstream.request({ method: "GET", path: "/slow" }));
    const seen = await server.received(1);
    await clock.advanceAsync(501);

    expect((await failed).code).toBe(Code.DeadlineExceeded);
    await seen.aborted;
  });

  it("fails Canceled when the caller aborts, and the upstream sees the request go", async () => {
    const server = await startUpstreamServer(hang);
    const { clock, resilience } = pipeline();
    const upstream = upstreamTo(server, { clock, resilience });
    const controller = new AbortController();

    const failed = failure(
      upstream.request({ method: "GET", path: "/", signal: controller.signal }),
    );
    const seen = await server.received(1);
    controller.abort();

    expect((await failed).code).toBe(Code.Canceled);
    await seen.aborted;
  });

  it("fails at once, without a request, when the deadline has passed or the caller aborted", async () => {
    const server = await startUpstreamServer(answer(200));
    const clock = createFakeClock(1_700_000_000_000);
    const refused: string[] = [];
    const observe: HttpUpstreamInterceptor = (next) => (call) =>
      next(call).catch((error: unknown) => {
        refused.push(codeToConnectName(PlexusError.from(error).code));
        throw error;
      });
    const upstream = upstreamTo(server, { clock, interceptors: [observe] });
    const context: CallContext = { correlationId: "c", requestId: "r", deadline: clock.now() };

    const late = await failure(
      runInContext(context, () => upstream.request({ method: "GET", path: "/" })),
    );
    const aborted = await failure(
      upstream.request({ method: "GET", path: "/", signal: AbortSignal.abort() }),
    );

    expect([late.code, aborted.code]).toEqual([Code.DeadlineExceeded, Code.Canceled]);
    expect(server.seen).toEqual([]);
    // Requests refused before they start are requests all the same: metrics count them.
    expect(refused).toEqual(["deadline_exceeded", "canceled"]);
  });

  it("fails Unavailable when the upstream refuses the connection", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const upstream = createHttpUpstream({ name: "gone", url: `http://127.0.0.1:${port}` });
    cleanups.push(() => upstream.destroy());

    const error = await failure(upstream.request({ method: "GET", path: "/" }));

    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).not.toContain(String(port));
  });

  it("answers Internal when a body the caller reads as JSON is not JSON", async () => {
    const server = await startUpstreamServer(answer(200, "<html>"));
    const upstream = upstreamTo(server);

    const response = await upstream.request({ method: "GET", path: "/" });

    expect(response.body).toBe("<html>");
    expect(() => response.json()).toThrow(expect.objectContaining({ code: Code.Internal }));
  });

  it("closes its pool: connections end, later requests fail Unavailable, close is idempotent", async () => {
    const server = await startUpstreamServer(answer(200));
    const http = createHttpClients();
    const upstream = http.upstream("up", { url: server.url, connections: 2 });
    await Promise.all([0, 1, 2].map(() => upstream.request({ method: "GET", path: "/" })));

    await http.close();
    await upstream.close();
    await server.connectionsClosed();

    const error = await failure(upstream.request({ method: "GET", path: "/" }));
    expect(error.code).toBe(Code.Unavailable);
  });
});

describe("the cost of an upstream request's deadline (one call scope, shared timer slots)", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("requests that finish in time arm no timer and create no AbortController of their own", async () => {
    const server = await startUpstreamServer(answer(204));
    const clock = createFakeClock(1_700_000_000_000);
    const { clock: counting, armed } = countingTimers(clock);
    const upstream = upstreamTo(server, { clock: counting });
    // Warm the pool: its first connection is not the request's cost.
    await upstream.request({ method: "GET", path: "/" });
    const controllers = countAbortControllers();
    const parent: CallContext = {
      correlationId: "c",
      requestId: "r",
      deadline: clock.now() + 1_000,
    };
    for (let i = 0; i < 10; i++) {
      await upstream.request({ method: "GET", path: "/", timeoutMs: 500 });
      await runInContext(parent, () => upstream.request({ method: "GET", path: "/" }));
    }

    // The two deadlines the fake clock never leaves: one slot each, a timer and a controller.
    expect(armed()).toBe(2);
    expect(controllers()).toBe(2);
    expect(server.seen.map((s) => s.headers["x-plexus-timeout-ms"]).slice(1, 3)).toEqual([
      "500",
      "1000",
    ]);
  });
});
