import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { DescService } from "@bufbuild/protobuf";
import {
  Code,
  createLogger,
  defineService,
  PlexusError,
  type Client,
  type Clock,
  type ServiceDefinition,
  type ServiceEnv,
  type ServiceInstance,
} from "@plexus/core";
import { startHost, type Host, type HostOptions } from "@plexus/host";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { OrdersService, type Order } from "../../gen/shop/orders/v1/orders_pb.js";
import { PaymentsService } from "../../gen/shop/payments/v1/payments_pb.js";
import { catalogService } from "../catalog/service.ts";
import { paymentsService } from "../payments/service.ts";
import { ordersService } from "./service.ts";

/*
 * Test support (not a test file): the real catalog, payments and orders services in one real
 * host on a real PGlite data directory, with typed clients and a handle on the orders service's
 * env and instance (for its database and its saga admin).
 */

/** A started shop and what the tests reach it with. */
export interface TestShop {
  readonly host: Host;
  readonly dataDir: string;
  readonly orders: Client<typeof OrdersService>;
  readonly catalog: Client<typeof CatalogService>;
  readonly payments: Client<typeof PaymentsService>;
  /** The orders service's env (its `db`) and instance (its `sagas`). */
  readonly ordersEnv: ServiceEnv;
  readonly ordersInstance: ServiceInstance<typeof OrdersService>;
  /** Every log line the host wrote (JSON). */
  readonly logLines: string[];
  close(): Promise<void>;
}

export interface TestShopOptions {
  /** Reuse a data directory (a restart); default: a new temporary one. */
  readonly dataDir?: string;
  /** Config over the defaults below. */
  readonly config?: Record<string, string>;
  /** Replaces the payments service (fault injection around the real one). */
  readonly payments?: ServiceDefinition<typeof PaymentsService>;
  /** Shared across restarts, to check no log line ever holds a card token. */
  readonly logLines?: string[];
  /** The host's clock; default the system clock. A fake one drives time-based policies. */
  readonly clock?: Clock;
  /** The host's storage opener (a test wraps the default one to count statements). */
  readonly openStorage?: HostOptions["openStorage"];
}

/** Fast defaults: tok_slow takes 600 ms, longer than the orders' 300 ms charge timeout. */
export const testShopConfig: Record<string, string> = {
  PLEXUS_PAYMENT_SLOW_MS: "600",
  PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "300",
  PLEXUS_ORDER_RETRY_DELAY_MS: "50",
  PLEXUS_ORDER_SAGA_POLL_MS: "0",
};

export async function startTestShop(options: TestShopOptions = {}): Promise<TestShop> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "plexus-orders-")));
  const logLines = options.logLines ?? [];
  let captured: { env: ServiceEnv; instance: ServiceInstance<typeof OrdersService> } | undefined;
  const orders = defineService({
    ...ordersService,
    create: async (env) => {
      const instance = await ordersService.create(env);
      captured = { env, instance };
      return instance;
    },
  });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const host = await startHost({
    spec: {
      name: "orders-test",
      services: [
        catalogService,
        options.payments ?? paymentsService,
        orders,
      ] as ServiceDefinition<DescService>[],
    },
    config: { ...testShopConfig, ...options.config, PLEXUS_DATA_DIR: dataDir },
    logger: createLogger({ name: "orders-test", level: "debug", destination }),
    exit: () => {},
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.openStorage ? { openStorage: options.openStorage } : {}),
  });
  if (!captured) throw new Error("the orders service was not created");
  const clients = host.clientsFor("test");
  return {
    host,
    dataDir,
    orders: clients.client(OrdersService),
    catalog: clients.client(CatalogService),
    payments: clients.client(PaymentsService),
    ordersEnv: captured.env,
    ordersInstance: captured.instance,
    logLines,
    close: () => host.close(),
  };
}

export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Polls `read` until `done` holds, for at most `timeoutMs` (a bounded loop, no fixed sleep):
 * resolves with the last value read, or throws with it when time ran out.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) {
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Waits until the order is CONFIRMED or CANCELLED and returns it. */
export async function settledOrder(
  shop: TestShop,
  orderId: string,
  userId: string,
  timeoutMs?: number,
): Promise<Order> {
  const response = await eventually(
    () => shop.orders.getOrder({ orderId, userId }),
    (r) => r.order?.status !== "PENDING",
    timeoutMs,
  );
  return response.order!;
}

export async function stockOf(shop: TestShop, productId: string): Promise<number> {
  const { product } = await shop.catalog.getProduct({ id: productId });
  return product!.stock;
}

/** The error a promise rejects with (fails when it resolves). */
export async function errorOf(promise: Promise<unknown>): Promise<PlexusError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PlexusError) return error;
    throw error;
  }
  throw new PlexusError(Code.Unknown, "expected the call to fail, and it succeeded");
}
