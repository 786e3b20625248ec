/**
 * Issue 10, the shop on Kafka across a broker crash, black-box: a stream of orders (confirmed and
 * declined) is placed while the shop's broker is killed (SIGKILL) and started again on the same
 * port and data in the middle of it. Every order settles, the invariant holds, and every settled
 * order is notified exactly once: what the outboxes buffered meanwhile reached the consumers, and
 * nothing the broker had acknowledged before the crash was lost.
 *
 * The broker is one of this file's own (`startPrivateKafka`): the shared one on 9092 is never
 * stopped. Kafka only (vitest.config.ts, `e2e:kafka`); the storage is PGlite.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startPrivateKafka, type PrivateKafka } from "@plexus/testing";
import { request, signUp } from "../support/http.ts";
import {
  invariantViolations,
  placeOrder,
  pollUntil,
  stockLevels,
  waitSettled,
  type OrderView,
  type PlacedOrder,
} from "../support/orders.ts";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";

/** Orders placed before, during and after the outage, one at a time per phase. */
const perPhase = 6;
const tokens = ["tok_visa", "tok_visa", "tok_declined"];

let kafka: PrivateKafka | undefined;
let shop: ShopProcess | undefined;

beforeAll(async () => {
  kafka = await startPrivateKafka();
  shop = await startShop({
    startTimeoutMs: 110_000,
    env: { KAFKA_BROKERS: kafka.broker, PLEXUS_RATE_LIMIT: "100000" },
  });
}, 240_000);

afterAll(async () => {
  await shop?.stop();
  if (shop) await removeDataDir(shop.dataDir);
  await kafka?.remove();
}, 60_000);

it("settles and notifies exactly once every order of a stream the broker crashed in", async () => {
  const url = shop!.url;
  const seeded = await stockLevels(url);
  const user = await signUp(url, "Outage");
  const placed: PlacedOrder[] = [];
  const placeSome = async (): Promise<void> => {
    for (let i = 0; i < perPhase; i++) {
      const lines = [{ productId: "prd_dune", quantity: 1 }];
      placed.push(await placeOrder(url, user.token, lines, tokens[i % tokens.length]!));
    }
  };

  await placeSome();
  await kafka!.kill();
  // Orders are accepted while the broker is down: their events wait in the outboxes.
  await placeSome();
  await kafka!.start();
  await placeSome();

  const settled = new Map<string, OrderView>();
  for (const o of placed) settled.set(o.id, await waitSettled(url, user.token, o.id, 90_000));
  expect(await invariantViolations(url, seeded, placed)).toEqual([]);
  expect(new Set([...settled.values()].map((o) => o.status))).toEqual(
    new Set(["CONFIRMED", "CANCELLED"]),
  );

  // Exactly one notification per settled order, of the matching type, and nothing else.
  const notes = await pollUntil(
    () => request(url, "/api/v1/me/notifications?limit=100", { token: user.token }),
    (reply) => (reply.body.data.length >= placed.length ? reply.body.data : undefined),
    { timeoutMs: 60_000, intervalMs: 250, what: "a notification for every order" },
  );
  const expected = placed
    .map((o) => `${o.id} order.${settled.get(o.id)!.status.toLowerCase()}`)
    .sort();
  const actual = (notes as { orderId: string; type: string }[])
    .map((n) => `${n.orderId} ${n.type}`)
    .sort();
  expect(actual).toEqual(expected);
}, 300_000);
