import { randomBytes } from "node:crypto";
import {
  Code as ConnectCode,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { headerServiceToken, mintServiceToken, parseServiceKey } from "@plexus/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import { OrdersService } from "../../apps/shop/gen/shop/orders/v1/orders_pb.js";
import { UsersService } from "../../apps/shop/gen/shop/users/v1/users_pb.js";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";

/** The topology key the shop is started with, as an operator would give it to its hosts. */
const serviceKey = randomBytes(32).toString("base64url");

let shop: ShopProcess | undefined;
beforeAll(async () => {
  shop = await startShop({
    env: { PLEXUS_RPC_PORT: "0", PLEXUS_SERVICE_KEY: serviceKey },
    startTimeoutMs: 110_000,
  });
}, 120_000);
afterAll(async () => {
  await shop?.stop();
  if (shop) await removeDataDir(shop.dataDir);
});

/** A stock Connect client's interceptor that signs each call as `caller`, for the callee's service. */
function serviceToken(caller: string): Interceptor {
  const key = parseServiceKey(serviceKey);
  return (next) => async (request) => {
    request.header.set(
      headerServiceToken,
      mintServiceToken({ key, caller, callee: request.service.typeName }),
    );
    return next(request);
  };
}

function withHeaders(headers: Record<string, string>): Interceptor {
  return (next) => async (request) => {
    for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
    return next(request);
  };
}

async function connectFailure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

function transport(interceptors: Interceptor[]): Transport {
  return createConnectTransport({ baseUrl: shop!.rpcUrl!, httpVersion: "1.1", interceptors });
}

describe("the monolith's services over the Connect protocol", () => {
  it("listen on loopback", () => {
    expect(shop!.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it.each([
    { httpVersion: "1.1" as const, useBinaryFormat: false },
    { httpVersion: "2" as const, useBinaryFormat: true },
  ])(
    "answer a stock Connect client with a service token (HTTP/$httpVersion, binary $useBinaryFormat)",
    async (options) => {
      const transport = createConnectTransport({
        baseUrl: shop!.rpcUrl!,
        ...options,
        interceptors: [serviceToken("ops-tool")],
      });
      const catalog = createClient(CatalogService, transport);
      const { products, total } = await catalog.listProducts({ page: 1, limit: 3 });
      expect(products).toHaveLength(3);
      expect(total).toBeGreaterThanOrEqual(20);

      const users = createClient(UsersService, transport);
      const failure = await connectFailure(users.getUser({ id: "nobody" }));
      expect(failure.code).toBe(ConnectCode.NotFound);
    },
  );

  it("refuse a stock Connect client without credentials: unauthenticated", async () => {
    const users = createClient(UsersService, transport([]));
    const failure = await connectFailure(
      users.issueToken({ email: "someone@example.com", password: "whatever-password" }),
    );
    expect(failure.code).toBe(ConnectCode.Unauthenticated);
  });

  it.each([
    ["no token", {}],
    ["an invalid token", { [headerServiceToken]: "eyJhbGciOiJIUzI1NiJ9.e30.AAAA" }],
    [
      "a token from another key",
      {
        [headerServiceToken]: mintServiceToken({
          key: randomBytes(32),
          caller: "gateway",
          callee: OrdersService.typeName,
        }),
      },
    ],
  ])("give a forged principal header with %s nothing", async (_name, token) => {
    const orders = createClient(
      OrdersService,
      transport([
        withHeaders({
          "x-plexus-principal-subject": "u-victim",
          "x-plexus-caller": "gateway",
          ...token,
        }),
      ]),
    );
    const failure = await connectFailure(orders.listOrderHistory({}));
    expect(failure.code).toBe(ConnectCode.Unauthenticated);
    expect(failure.rawMessage).toMatch(/^service token /);
  });
});
