import { Code as ConnectCode, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import { UsersService } from "../../apps/shop/gen/shop/users/v1/users_pb.js";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";

let shop: ShopProcess;
beforeAll(async () => {
  shop = await startShop({ env: { PLEXUS_RPC_PORT: "0" } });
});
afterAll(async () => {
  await shop.stop();
  await removeDataDir(shop.dataDir);
});

describe("the monolith's services over the Connect protocol", () => {
  it.each([
    { httpVersion: "1.1" as const, useBinaryFormat: false },
    { httpVersion: "2" as const, useBinaryFormat: true },
  ])(
    "answer a stock Connect client (HTTP/$httpVersion, binary $useBinaryFormat)",
    async (options) => {
      expect(shop.rpcUrl).toBeDefined();
      const transport = createConnectTransport({ baseUrl: shop.rpcUrl!, ...options });
      const catalog = createClient(CatalogService, transport);
      const { products, total } = await catalog.listProducts({ page: 1, limit: 3 });
      expect(products).toHaveLength(3);
      expect(total).toBeGreaterThanOrEqual(20);

      const users = createClient(UsersService, transport);
      const failure = await users.getUser({ id: "nobody" }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ConnectError);
      expect((failure as ConnectError).code).toBe(ConnectCode.NotFound);
    },
  );
});
