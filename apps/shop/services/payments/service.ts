import { defineService } from "@plexus/core";
import { PaymentsService } from "../../gen/shop/payments/v1/payments_pb.js";
import { createHttpCardProvider } from "./adapters/http-card-provider.ts";
import { createPaymentsHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlChargeRepository } from "./adapters/sql-charge-repository.ts";
import { readPaymentsConfig } from "./config.ts";
import { paymentsMigrations } from "./migrations.ts";
import { createCardProviderServer } from "./provider/card-provider-server.ts";

/**
 * Card payments: charges idempotent by key (never two for one key, never two SUCCEEDED for one
 * order), refunds, and the charges of an order. The card provider is simulated behind a real
 * HTTP boundary: the service starts it on 127.0.0.1 (a free port) and calls it through the
 * `card-provider` HTTP upstream of `env.http` (the host's client pipeline: breaker, metrics,
 * context), so timeouts, lost answers and retries behave as with a remote provider. See README.md.
 *
 * Config: `PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS` (default 2000), `PLEXUS_PAYMENT_SLOW_MS` (tok_slow's
 * delay, default 3000), `PLEXUS_PAYMENT_FLAKY_SEED` (reproducible tok_flaky failures).
 *
 * @example
 * const db = await storage.forService(paymentsService.name, paymentsService.migrations);
 * const payments = await paymentsService.create({ ...env, db });
 * await payments.handlers.charge(request, ctx); // ctx.context.idempotencyKey is required
 * await payments.close?.();
 */
export const paymentsService = defineService({
  name: "payments",
  contract: PaymentsService,
  migrations: paymentsMigrations,
  create: async (env) => {
    const config = readPaymentsConfig(env.config);
    const server = await createCardProviderServer({
      db: env.db,
      clock: env.clock,
      slowMs: config.slowMs,
      flaky: config.flakySeed === undefined ? {} : { seed: config.flakySeed },
      logger: env.logger,
    });
    // The host runs its client pipeline around this upstream and closes it after `close` below.
    const provider = createHttpCardProvider({
      upstream: env.http.upstream("card-provider", { url: server.url }),
    });
    const handlers = createPaymentsHandlers({
      charges: createSqlChargeRepository(env.db),
      provider,
      clock: env.clock,
      logger: env.logger,
      providerTimeoutMs: config.chargeTimeoutMs,
    });
    return {
      handlers,
      async close() {
        // Its pending slow charges give up, so the upstream's pool (closed by the host after
        // this) has nothing to wait for.
        await server.close();
      },
    };
  },
});
