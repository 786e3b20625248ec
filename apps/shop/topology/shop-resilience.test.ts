import { Code, PlexusError } from "@plexus/core";
import { createClientResilience, type CallDescriptor } from "@plexus/resilience";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import monolith from "./monolith.ts";
import { shopResilience } from "./shop-resilience.ts";

function shopPipeline() {
  const clock = createFakeClock(1_000_000);
  return { clock, resilience: createClientResilience({ ...shopResilience, clock }) };
}

const charge: CallDescriptor = {
  callee: "card-provider",
  method: "charge",
  idempotent: false,
  idempotencyKey: "order-1",
};

const unavailable = async (): Promise<never> => {
  throw new PlexusError(Code.Unavailable, "HTTP 503");
};

describe("shopResilience", () => {
  it("is the monolith host's policy", () => {
    expect(monolith.hosts.map((host) => host.resilience)).toEqual([shopResilience]);
  });

  it("tries a keyed card-provider charge once, bounded only by the caller's deadline", async () => {
    const { clock, resilience } = shopPipeline();
    const deadlines: (number | undefined)[] = [];
    const deadline = clock.now() + 7_000;

    const error: unknown = await resilience
      .execute(
        charge,
        async (_signal, context) => {
          deadlines.push(context.deadline);
          return unavailable();
        },
        { deadline },
      )
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: Code.Unavailable });
    expect(deadlines).toEqual([deadline]);
  });

  it("opens the card-provider breaker at 90 % failures of 20 calls, then fails fast", async () => {
    const { resilience } = shopPipeline();
    const ok = async () => "charged";
    for (let i = 0; i < 3; i++) await resilience.execute(charge, ok);
    for (let i = 0; i < 16; i++) await resilience.execute(charge, unavailable).catch(() => {});
    expect(resilience.circuitBreaker("card-provider")!.state).toBe("closed"); // 19 calls

    await resilience.execute(charge, unavailable).catch(() => {}); // 17 of 20: 85 %
    expect(resilience.circuitBreaker("card-provider")!.state).toBe("closed");
    await resilience.execute(charge, unavailable).catch(() => {}); // 18 of 21: 85.7 %
    await resilience.execute(charge, unavailable).catch(() => {}); // 19 of 22: 86.4 %
    expect(resilience.circuitBreaker("card-provider")!.state).toBe("closed");
    for (let i = 0; i < 8; i++) await resilience.execute(charge, unavailable).catch(() => {});

    expect(resilience.circuitBreaker("card-provider")!.state).toBe("open"); // 27 of 30: 90 %
    let called = false;
    const refused: unknown = await resilience
      .execute(charge, async () => (called = true))
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: Code.Unavailable });
    expect(called).toBe(false);
  });

  it("does not open the card-provider breaker on flaky and slow cards", async () => {
    const { clock, resilience } = shopPipeline();
    const slowCard = async (): Promise<never> => {
      clock.advance(2_000); // the charge timeout
      throw new PlexusError(Code.DeadlineExceeded, "the payment provider did not answer in time");
    };
    for (let i = 0; i < 10; i++) {
      await resilience.execute(charge, unavailable).catch(() => {}); // tok_flaky: half fail
      await resilience.execute(charge, async () => "charged");
      await resilience.execute(charge, slowCard).catch(() => {}); // tok_slow's first try
    }
    expect(resilience.circuitBreaker("card-provider")!.state).toBe("closed");
  });

  it("does not hold the provider's failures against payments, only payments' own", async () => {
    const { clock, resilience } = shopPipeline();
    const chargeOrder: CallDescriptor = {
      callee: "shop.payments.v1.PaymentsService",
      method: "Charge",
      idempotent: false,
    };
    const answered = (error: PlexusError) => async (): Promise<never> => {
      throw error;
    };
    const providerDown = new PlexusError(Code.Unavailable, "provider", {
      reason: "PROVIDER_UNAVAILABLE",
    });
    const providerSlow = new PlexusError(Code.DeadlineExceeded, "provider", {
      reason: "PROVIDER_TIMEOUT",
    });
    const cutBySaga = new PlexusError(Code.DeadlineExceeded, "deadline exceeded");
    for (const error of [providerDown, providerSlow, cutBySaga]) {
      for (let i = 0; i < 25; i++) {
        await resilience.execute(chargeOrder, answered(error)).catch(() => {});
      }
    }
    expect(resilience.circuitBreaker("shop.payments.v1.PaymentsService")!.state).toBe("closed");

    clock.advance(10_000); // past the window
    const paymentsDown = new PlexusError(Code.Unavailable, "connection refused");
    for (let i = 0; i < 25; i++) {
      await resilience.execute(chargeOrder, answered(paymentsDown)).catch(() => {});
    }
    expect(resilience.circuitBreaker("shop.payments.v1.PaymentsService")!.state).toBe("open");
  });

  it.each([
    ["shop.users.v1.UsersService", "GetUser", 2_000],
    ["shop.users.v1.UsersService", "CreateUser", 5_000],
    ["shop.catalog.v1.CatalogService", "GetProducts", 2_000],
    ["shop.catalog.v1.CatalogService", "ReserveStock", 5_000],
    ["shop.orders.v1.OrdersService", "GetOrder", 2_000],
    ["shop.orders.v1.OrdersService", "PlaceOrder", 5_000],
    ["shop.notifications.v1.NotificationsService", "ListNotifications", 2_000],
    ["shop.payments.v1.PaymentsService", "ListCharges", 2_000],
    ["shop.payments.v1.PaymentsService", "Charge", undefined],
    ["card-provider", "charge", undefined],
  ])(
    "bounds each try of %s %s by %s ms (undefined: by the caller's deadline only)",
    async (callee, method, expected) => {
      const { clock, resilience } = shopPipeline();
      const start = clock.now();

      const deadline = await resilience.execute(
        { callee, method, idempotent: true },
        async (_signal, context) => context.deadline,
      );

      expect(deadline === undefined ? undefined : deadline - start).toBe(expected);
    },
  );
});
