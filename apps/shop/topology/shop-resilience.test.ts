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

  it("opens the card-provider breaker when half of the last 20 calls failed, not before", async () => {
    const { resilience } = shopPipeline();
    const ok = async () => "charged";
    for (let i = 0; i < 10; i++) await resilience.execute(charge, ok);
    for (let i = 0; i < 9; i++) await resilience.execute(charge, unavailable).catch(() => {});
    expect(resilience.circuitBreaker("card-provider")!.state).toBe("closed");

    await resilience.execute(charge, unavailable).catch(() => {});

    expect(resilience.circuitBreaker("card-provider")!.state).toBe("open");
    let called = false;
    const refused: unknown = await resilience
      .execute(charge, async () => (called = true))
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: Code.Unavailable });
    expect(called).toBe(false);
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
