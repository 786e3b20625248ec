/**
 * `GET /api/v1/me/notifications` (API.md "Notifications", paginated per "Conventions"): the route
 * on a bare gateway, calling the real notifications service in process (PGlite), with a stand-in
 * authenticator whose bearer token is the user id. Notifications are made by the service's own
 * consumer from order events.
 */
import type { Principal } from "@plexus/core";
import { createGateway, type Gateway } from "@plexus/gateway";
import { createEvent } from "@plexus/messaging";
import { bindService, createClient, createInProcessTransport } from "@plexus/rpc";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "../../../test/support/http.ts";
import { NotificationsService } from "../gen/shop/notifications/v1/notifications_pb.js";
import { OrderCancelledSchema, OrderConfirmedSchema } from "../gen/shop/orders/v1/orders_pb.js";
import { notificationsService } from "../services/notifications/service.ts";
import { createServiceTestEnv } from "../services/service-test-env.ts";
import { addNotificationsRoutes } from "./notifications-routes.ts";

const path = "/api/v1/me/notifications";
/** Alice has this many, made a second apart: three pages of 20 by default. */
const aliceCount = 45;

let storage: Storage;
let gateway: Gateway;
let url: string;

beforeAll(async () => {
  storage = await openStorage({});
  const db = await storage.forService(notificationsService.name, notificationsService.migrations);
  const clock = createFakeClock(Date.parse("2030-01-01T00:00:00.000Z"));
  const { handlers, consumers } = await notificationsService.create(
    createServiceTestEnv({ name: notificationsService.name, db, clock }),
  );
  const consumer = consumers![0]!;
  const settle = async (type: "confirmed" | "cancelled", orderId: string, userId: string) => {
    clock.advance(1_000);
    const event =
      type === "confirmed"
        ? createEvent(OrderConfirmedSchema, { orderId, userId }, { source: "/orders" })
        : createEvent(OrderCancelledSchema, { orderId, userId }, { source: "/orders" });
    const delivery = {
      group: "g",
      attempt: 1,
      maxDeliveries: 1,
      signal: AbortSignal.timeout(5_000),
    };
    await db.transaction((tx) => consumer.handle(event, tx, delivery));
  };
  for (let i = 1; i <= aliceCount; i++) {
    await settle(i % 3 === 0 ? "cancelled" : "confirmed", `ord_a${i}`, "usr_alice");
  }
  await settle("confirmed", "ord_b1", "usr_bob");
  await settle("cancelled", "ord_b2", "usr_bob");

  const transport = createInProcessTransport({
    services: [bindService(NotificationsService, handlers)],
  });
  gateway = createGateway({
    authenticator: {
      authenticate: async (authorization): Promise<Principal | undefined> =>
        authorization === undefined
          ? undefined
          : { subject: authorization.slice("Bearer ".length) },
    },
    rateLimit: false,
  });
  addNotificationsRoutes(gateway, createClient(NotificationsService, transport));
  ({ url } = await gateway.listen({ port: 0, host: "127.0.0.1" }));
});

afterAll(async () => {
  await gateway?.close();
  await storage?.close();
});

/** Alice's order ids, newest first. */
const aliceNewest = Array.from({ length: aliceCount }, (_, i) => `ord_a${aliceCount - i}`);

async function get(query: string, token = "usr_alice") {
  return request(url, `${path}${query}`, { token });
}

const orderIds = (body: { data: { orderId: string }[] }) => body.data.map((n) => n.orderId);

describe("GET /api/v1/me/notifications", () => {
  it("answers the first 20, newest first, in API.md's list envelope", async () => {
    const reply = await get("");
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body)).toEqual(["data", "pagination", "_links"]);
    expect(orderIds(reply.body)).toEqual(aliceNewest.slice(0, 20));
    expect(reply.body.data[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: "order.cancelled",
      orderId: "ord_a45",
      createdAt: "2030-01-01T00:00:45.000Z",
    });
    expect(reply.body.data[1]).toMatchObject({ type: "order.confirmed", orderId: "ord_a44" });
    expect(reply.body.pagination).toEqual({ page: 1, limit: 20, total: 45, totalPages: 3 });
    expect(reply.body._links).toEqual({
      self: `${path}?page=1&limit=20`,
      next: `${path}?page=2&limit=20`,
      prev: null,
    });
  });

  it("walks every page through the links, each notification once", async () => {
    const seen: string[] = [];
    let link: string | null = `${path}?limit=20`;
    const pages: unknown[] = [];
    while (link !== null) {
      const reply = await request(url, link, { token: "usr_alice" });
      expect(reply.status).toBe(200);
      expect(reply.body.pagination.total).toBe(aliceCount);
      seen.push(...orderIds(reply.body));
      pages.push(reply.body.pagination.page);
      link = reply.body._links.next;
    }
    expect(pages).toEqual([1, 2, 3]);
    expect(seen).toEqual(aliceNewest);

    const last = await get("?page=3&limit=20");
    expect(orderIds(last.body)).toEqual(aliceNewest.slice(40));
    expect(last.body._links).toEqual({
      self: `${path}?page=3&limit=20`,
      next: null,
      prev: `${path}?page=2&limit=20`,
    });
  });

  it("clamps a limit over 100 to 100", async () => {
    const reply = await get("?limit=1000");
    expect(reply.status).toBe(200);
    expect(reply.body.pagination).toEqual({ page: 1, limit: 100, total: 45, totalPages: 1 });
    expect(orderIds(reply.body)).toEqual(aliceNewest);
    expect(reply.body._links).toEqual({
      // The links keep the query as sent, with the effective (clamped) limit.
      self: `${path}?limit=100&page=1`,
      next: null,
      prev: null,
    });
  });

  it("answers an empty page past the end, pointing back at the last one", async () => {
    const reply = await get("?page=9&limit=20");
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual([]);
    expect(reply.body.pagination).toEqual({ page: 9, limit: 20, total: 45, totalPages: 3 });
    expect(reply.body._links.next).toBeNull();
    expect(reply.body._links.prev).toBe(`${path}?page=3&limit=20`);
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=-1", "limit"],
    ["limit=abc", "limit"],
    ["limit=1.5", "limit"],
    ["page=0", "page"],
    ["page=-1", "page"],
    ["page=abc", "page"],
  ])("answers 422 VALIDATION_ERROR for %s", async (query, field) => {
    const reply = await get(`?${query}`);
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe("VALIDATION_ERROR");
    expect(reply.body.error.details).toEqual([{ field, message: expect.any(String) }]);
  });

  it("shows each user only their own notifications", async () => {
    const bob = await get("", "usr_bob");
    expect(
      bob.body.data.map((n: { orderId: string; type: string }) => [n.orderId, n.type]),
    ).toEqual([
      ["ord_b2", "order.cancelled"],
      ["ord_b1", "order.confirmed"],
    ]);
    expect(bob.body.pagination).toEqual({ page: 1, limit: 20, total: 2, totalPages: 1 });

    const nobody = await get("", "usr_nobody");
    expect(nobody.status).toBe(200);
    expect(nobody.body).toEqual({
      data: [],
      pagination: { page: 1, limit: 20, total: 0, totalPages: 0 },
      _links: { self: `${path}?page=1&limit=20`, next: null, prev: null },
    });
  });

  it("needs a token", async () => {
    const reply = await request(url, path);
    expect(reply.status).toBe(401);
    expect(reply.body.error.code).toBe("UNAUTHENTICATED");
  });
});
