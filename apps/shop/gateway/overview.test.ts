/**
 * `GET /api/v1/me/overview` when parts fail or hang: the real shop services and gateway in one
 * real host (PGlite), with faults injected around the real orders and notifications services —
 * the public process offers no way to make a service slow, and it should not.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Code, createLogger, defineService, PlexusError, type HandlerContext } from "@plexus/core";
import { startHost, type Host } from "@plexus/host";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "@plexus/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { request, signUp } from "../../../test/support/http.ts";
import { catalogService } from "../services/catalog/service.ts";
import { notificationsService } from "../services/notifications/service.ts";
import { ordersService } from "../services/orders/service.ts";
import { paymentsService } from "../services/payments/service.ts";
import { usersService } from "../services/users/service.ts";
import { createShopGateway } from "./create-shop-gateway.ts";

type Fault = "none" | "fail" | "hang";
const faults: { orders: Fault; notifications: Fault } = { orders: "none", notifications: "none" };

/** Runs `call` unless a fault is set: then fails at once, or hangs until the caller gives up. */
function faulty<T>(fault: Fault, ctx: HandlerContext, call: () => Promise<T>): Promise<T> {
  if (fault === "fail") {
    return Promise.reject(new PlexusError(Code.Unavailable, "injected failure"));
  }
  if (fault === "hang") {
    // Never answers on its own: only the composition's timeout can end this.
    return new Promise<T>((_, reject) => {
      ctx.signal.addEventListener("abort", () => reject(new Error("abandoned")), { once: true });
    });
  }
  return call();
}

const ordersWithFaults = defineService({
  ...ordersService,
  create: async (env) => {
    const instance = await ordersService.create(env);
    const { listOrderHistory } = instance.handlers;
    return {
      ...instance,
      handlers: {
        ...instance.handlers,
        listOrderHistory: (req, ctx) =>
          faulty(faults.orders, ctx, () => listOrderHistory(req, ctx)),
      },
    };
  },
});

const notificationsWithFaults = defineService({
  ...notificationsService,
  create: async (env) => {
    const instance = await notificationsService.create(env);
    const { listNotifications } = instance.handlers;
    return {
      ...instance,
      handlers: {
        listNotifications: (req, ctx) =>
          faulty(faults.notifications, ctx, () => listNotifications(req, ctx)),
      },
    };
  },
});

let host: Host;
let receiver: OtlpReceiver;
let dataDir: string;
let url: string;
let user: Awaited<ReturnType<typeof signUp>>;
/** What the host logged at warn and above, parsed. */
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "plexus-overview-"));
  receiver = await startOtlpReceiver();
  host = await startHost({
    spec: {
      name: "shop",
      services: [
        usersService,
        catalogService,
        paymentsService,
        ordersWithFaults,
        notificationsWithFaults,
      ],
      edge: createShopGateway,
    },
    config: {
      PLEXUS_DATA_DIR: dataDir,
      PLEXUS_OVERVIEW_PART_TIMEOUT_MS: "200",
      PLEXUS_RATE_LIMIT: "100000",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
    },
    port: 0,
    logger: createLogger({
      name: "overview-test",
      level: "warn",
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    }),
    exit: () => undefined,
  });
  url = host.url!;
  user = await signUp(url, "Overview");
}, 120_000);

afterAll(async () => {
  await host?.close();
  await receiver?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

beforeEach(() => {
  faults.orders = "none";
  faults.notifications = "none";
  logLines.length = 0;
});

async function overview() {
  const reply = await request(url, "/api/v1/me/overview", { token: user.token });
  expect(reply.status).toBe(200);
  // Whole or degraded, never cached: a degraded answer must not come back later as whole.
  expect(reply.headers.get("cache-control")).toBe("no-store");
  return reply.body;
}

/** The degraded parts the gateway logged, with the code of their failure. */
const loggedDegradations = () =>
  logLines
    .filter((line) => line["msg"] === "overview part degraded")
    .map((line) => [line["level"], line["part"], (line["err"] as { code?: string }).code]);

const expectedUser = () => ({
  id: user.id,
  email: user.email,
  name: "Overview",
  createdAt: expect.any(String),
});

describe("GET /api/v1/me/overview with faults", () => {
  it("is whole when every part answers", async () => {
    expect(await overview()).toEqual({
      data: { user: expectedUser(), recentOrders: [], notifications: [] },
      meta: { degraded: [] },
    });
    expect(loggedDegradations()).toEqual([]);
  });

  it("nulls a failing part and names its service", async () => {
    faults.orders = "fail";
    expect(await overview()).toEqual({
      data: { user: expectedUser(), recentOrders: null, notifications: [] },
      meta: { degraded: ["orders"] },
    });
    // Why is logged at warn (40), not shown to the client.
    expect(loggedDegradations()).toEqual([[40, "orders", Code.Unavailable]]);
  });

  it("does not wait for a part that never answers", async () => {
    faults.notifications = "hang";
    expect(await overview()).toEqual({
      data: { user: expectedUser(), recentOrders: [], notifications: null },
      meta: { degraded: ["notifications"] },
    });
    expect(loggedDegradations()).toEqual([[40, "notifications", Code.DeadlineExceeded]]);
  });

  it("degrades several parts at once and still answers 200", async () => {
    faults.orders = "hang";
    faults.notifications = "fail";
    expect(await overview()).toEqual({
      data: { user: expectedUser(), recentOrders: null, notifications: null },
      meta: { degraded: ["orders", "notifications"] },
    });
    // Each with its own reason; logged as each part degrades, so in no set order.
    expect(loggedDegradations()).toHaveLength(2);
    expect(loggedDegradations()).toEqual(
      expect.arrayContaining([
        [40, "orders", Code.DeadlineExceeded],
        [40, "notifications", Code.Unavailable],
      ]),
    );
  });

  it("keeps the routes of a degraded part honest: they fail, they do not fabricate", async () => {
    faults.notifications = "fail";
    const reply = await request(url, "/api/v1/me/notifications", { token: user.token });
    expect(reply.status).toBe(503);
    expect(reply.body.error.code).toBe("SERVICE_UNAVAILABLE");
  });
});

describe("resilience events on the calls' spans (last: it opens the notifications circuit)", () => {
  const listNotifications = "shop.notifications.v1.NotificationsService/ListNotifications";
  /** The gateway's client spans towards notifications that carry an event named `event`. */
  const withEvent = (spans: ReceivedSpan[], event: string) =>
    spans.filter(
      (span) =>
        span.kind === 3 &&
        span.name === listNotifications &&
        span.events.some((e) => e.name === event),
    );

  it("records retries, the circuit opening and the refusals that follow as span events", async () => {
    faults.notifications = "fail";
    // Each overview tries notifications a few times (retryable UNAVAILABLE) until the retry
    // budget and then the breaker (50 % of at least 20 calls) stop it.
    for (let i = 0; i < 25; i++) await overview();

    const retried = await receiver.waitFor((spans) => withEvent(spans, "plexus.retry")[0]);
    expect(retried.events.find((e) => e.name === "plexus.retry")?.attributes).toMatchObject({
      "plexus.retry.attempt": 2,
      "plexus.retry.hedge": false,
    });
    const opened = await receiver.waitFor(
      (spans) => withEvent(spans, "plexus.circuit.state_change")[0],
    );
    expect(
      opened.events.find((e) => e.name === "plexus.circuit.state_change")?.attributes,
    ).toMatchObject({
      "plexus.circuit.callee": "shop.notifications.v1.NotificationsService",
      "plexus.circuit.from": "closed",
      "plexus.circuit.to": "open",
    });
    const refused = await receiver.waitFor((spans) =>
      withEvent(spans, "plexus.rejected").find((span) =>
        span.events.some(
          (e) =>
            e.name === "plexus.rejected" &&
            e.attributes["plexus.rejected.policy"] === "circuit-breaker",
        ),
      ),
    );
    expect(refused.status.code).toBe(2); // ERROR: the call failed fast
  });
});
