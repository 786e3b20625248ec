import { defineService } from "@plexus/core";
import { createSagaOrchestrator } from "@plexus/saga";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { OrdersService } from "../../gen/shop/orders/v1/orders_pb.js";
import { PaymentsService } from "../../gen/shop/payments/v1/payments_pb.js";
import { createCatalogPriceLookup } from "./adapters/catalog-price-lookup.ts";
import { createOrdersHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlOrderEventLog } from "./adapters/sql-order-event-log.ts";
import { createSqlOrderHistory, orderHistoryProjection } from "./adapters/sql-order-history.ts";
import { createSqlOrderRepository } from "./adapters/sql-order-repository.ts";
import { createIdempotencyKeySweeper } from "./app/idempotency-key-sweeper.ts";
import { createPlaceOrderSaga } from "./app/place-order-saga.ts";
import { readOrdersConfig } from "./config.ts";
import { ordersMigrations } from "./migrations.ts";

/**
 * Orders and the order saga: PlaceOrder accepts an order at once (PENDING, idempotent per user and
 * Idempotency-Key) and the `place-order` saga settles it in the background — reserve stock
 * (catalog) → charge (payments) → confirm, compensated in reverse — to CONFIRMED or CANCELLED.
 * Publishes OrderPlaced / OrderConfirmed / OrderCancelled through its outbox, keeps every event in
 * its own log, and keeps a user's order history as a projection of that log (run by the host,
 * rebuilt by `npm run shop:rebuild-history`). See README.md for the design.
 *
 * Config: `PLEXUS_ORDER_CHARGE_TIMEOUT_MS` (default 2000), `PLEXUS_ORDER_CHARGE_MAX_ATTEMPTS`
 * (5), `PLEXUS_ORDER_RESERVE_MAX_ATTEMPTS` (5), `PLEXUS_ORDER_RETRY_DELAY_MS` (200),
 * `PLEXUS_ORDER_SAGA_CLOSE_TIMEOUT_MS` (10 000), `PLEXUS_ORDER_SAGA_POLL_MS` (5000),
 * `PLEXUS_IDEMPOTENCY_KEY_TTL_MS` (86 400 000), `PLEXUS_IDEMPOTENCY_SWEEP_MS` (600 000),
 * `PLEXUS_ORDER_SAGA_LEASE_MS` (30 000).
 *
 * @example
 * const host = await startHost({ spec: { name: "shop", services: [catalogService, paymentsService, ordersService] } });
 * const orders = host.clientsFor("test").client(OrdersService);
 * const { orderId } = await orders.placeOrder({ userId, idempotencyKey, items, paymentToken: "tok_visa" });
 */
export const ordersService = defineService({
  name: "orders",
  contract: OrdersService,
  migrations: ordersMigrations,
  projections: [orderHistoryProjection],
  create: async (env) => {
    const { db, clock, logger } = env;
    const config = readOrdersConfig(env.config);
    const catalog = env.clients.client(CatalogService);
    const payments = env.clients.client(PaymentsService);
    const orders = createSqlOrderRepository;
    const events = createSqlOrderEventLog(db, env.outbox);
    const history = createSqlOrderHistory(db);
    const sagas = createSagaOrchestrator({
      db,
      definitions: [
        createPlaceOrderSaga({ db, orders, events, catalog, payments, clock, logger, config }),
      ],
      clock,
      logger,
      serviceName: env.name,
      interceptors: env.sagaStepInterceptors ?? [],
      closeTimeoutMs: config.sagaCloseTimeoutMs,
      pollIntervalMs: config.sagaPollIntervalMs,
      leaseMs: config.sagaLeaseMs,
    });
    const sweeper = createIdempotencyKeySweeper({
      db,
      orders,
      clock,
      logger,
      ttlMs: config.idempotencyKeyTtlMs,
      intervalMs: config.idempotencySweepIntervalMs,
    });
    return {
      handlers: createOrdersHandlers({
        db,
        orders,
        events,
        history,
        place: {
          db,
          orders,
          events,
          prices: createCatalogPriceLookup(catalog),
          sagas,
          clock,
          logger,
          idempotencyKeyTtlMs: config.idempotencyKeyTtlMs,
        },
      }),
      sagas,
      // Called by the host once clients, consumers, projections and relays run: resumed sagas
      // find them all.
      async start() {
        const count = await sagas.resumeAll();
        if (count > 0) logger.info({ count }, "resumed unfinished order sagas");
        sweeper.start();
      },
      async close() {
        await sweeper.close();
        await sagas.close();
      },
    };
  },
});

export { orderHistoryProjection } from "./adapters/sql-order-history.ts";
