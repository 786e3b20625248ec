import { once } from "node:events";
import { createServer, type Server } from "node:http";
import {
  Code,
  createLogger,
  PlexusError,
  retryAfterMsOf,
  systemClock,
  type Client,
  type HttpUpstream,
} from "@plexus/core";
import { createClientResilience, type ClientResilience } from "@plexus/resilience";
import {
  bindService,
  createClient,
  createHttpUpstream,
  createInProcessTransport,
  createNetworkTransport,
  createRpcServer,
  httpStatusError,
  type NetworkTransport,
  type RpcServer,
} from "@plexus/rpc";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentsService } from "../../gen/shop/payments/v1/payments_pb.js";
import { shopResilience } from "../../topology/shop-resilience.ts";
import { errorOf } from "../test-errors.ts";
import { createHttpCardProvider } from "./adapters/http-card-provider.ts";
import { createPaymentsHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlChargeRepository } from "./adapters/sql-charge-repository.ts";
import { providerUnavailable } from "./domain/payment-errors.ts";
import { paymentsService } from "./service.ts";

/*
 * PROVIDER_UNAVAILABLE carries the provider's pushback, so the order saga waits it instead of
 * retrying into an open breaker: built from its cause, then end to end through the handlers and
 * both transports, from a provider answering 503 with Retry-After and from the shop's own
 * card-provider breaker (opened by hand, on a fake clock).
 */

describe("providerUnavailable", () => {
  it("carries its cause's pushback: a Retry-After, a 'do not retry', or none", () => {
    const retryAfter = providerUnavailable(httpStatusError(503, "7", 0));
    expect([retryAfter.code, retryAfter.reason]).toEqual([
      Code.Unavailable,
      "PROVIDER_UNAVAILABLE",
    ]);
    expect(retryAfter.metadata).toEqual({ retryAfterMs: "7000" });
    const noRetry = new PlexusError(Code.Unavailable, "x", { metadata: { retryAfterMs: "-5" } });
    expect(providerUnavailable(noRetry).metadata).toEqual({ retryAfterMs: "-1" });
    expect(providerUnavailable(httpStatusError(502, undefined, 0)).metadata).toEqual({});
    expect(providerUnavailable(new Error("ECONNREFUSED")).metadata).toEqual({});
  });
});

describe("a charge while the provider is down", () => {
  const clock = createFakeClock(Date.now());
  let storage: Storage;
  let provider: Server;
  let resilience: ClientResilience;
  let upstream: HttpUpstream;
  let server: RpcServer;
  let network: NetworkTransport;
  let clients: [string, Client<typeof PaymentsService>][];

  beforeAll(async () => {
    provider = createServer((_, res) => {
      res.writeHead(503, { "retry-after": "7" }).end();
    }).listen(0, "127.0.0.1");
    await once(provider, "listening");
    const { port } = provider.address() as { port: number };
    storage = await openStorage({});
    const db = await storage.forService(paymentsService.name, paymentsService.migrations);
    resilience = createClientResilience({ ...shopResilience, clock });
    upstream = createHttpUpstream({
      name: "card-provider",
      url: `http://127.0.0.1:${port}`,
      resilience,
      clock,
    });
    const handlers = createPaymentsHandlers({
      charges: createSqlChargeRepository(db),
      provider: createHttpCardProvider({ upstream }),
      clock: systemClock,
      logger: createLogger({ name: "payments-pushback-test", level: "silent" }),
      providerTimeoutMs: 2_000,
    });
    const binding = bindService(PaymentsService, handlers);
    server = await createRpcServer({ services: [binding] });
    network = createNetworkTransport({ baseUrl: server.address().url });
    clients = [
      [
        "in-process",
        createClient(PaymentsService, createInProcessTransport({ services: [binding] })),
      ],
      ["Connect", createClient(PaymentsService, network)],
    ];
  });

  afterAll(async () => {
    await network?.close();
    await server?.close();
    await upstream?.close();
    resilience?.[Symbol.dispose]();
    await storage?.close();
    provider?.close();
  });

  async function chargeError(
    payments: Client<typeof PaymentsService>,
    orderId: string,
  ): Promise<PlexusError> {
    return errorOf(
      payments.charge(
        { orderId, amountCents: 2599n, currency: "EUR", paymentToken: "tok_visa" },
        { idempotencyKey: `${orderId}:charge:action` },
      ),
    );
  }

  it("answers PROVIDER_UNAVAILABLE with the provider's Retry-After, then the open breaker's remaining wait, across either transport", async () => {
    for (const [name, payments] of clients) {
      const error = await chargeError(payments, `retry-after-${name}`);
      expect([name, error.code, error.reason]).toEqual([
        name,
        Code.Unavailable,
        "PROVIDER_UNAVAILABLE",
      ]);
      expect([name, retryAfterMsOf(error)]).toEqual([name, 7_000]);
    }
    resilience.circuitBreaker("card-provider")?.transitionTo("open"); // the shop's first opening: 2 s
    clock.advance(500);
    for (const [name, payments] of clients) {
      const error = await chargeError(payments, `breaker-${name}`);
      expect([name, error.reason, retryAfterMsOf(error)]).toEqual([
        name,
        "PROVIDER_UNAVAILABLE",
        1_500,
      ]);
    }
  });
});
