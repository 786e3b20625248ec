/**
 * Crash safety of the saga, black-box: a stream of orders (mixed payment tokens) against the real
 * shop process, SIGKILLed at random moments several times and restarted on the same data
 * directory each time. A client whose POST got no answer retries it with the same
 * Idempotency-Key and body after the restart, as a real client would. At the end: every order
 * settles, no order is charged twice, stock is exact, and every settled order has exactly one
 * notification.
 *
 * PGlite only (vitest.config.ts): the restarted process takes the killed one's saga leases over at
 * once because its lock on the data directory proves their holder dead — an embedded-storage
 * property. On a shared Postgres a lease is taken over only once it ran out; replicas.test.ts
 * covers that, with two live processes.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, expect, it } from "vitest";
import { request, signUp } from "../support/http.ts";
import {
  getSaga,
  invariantViolations,
  pollUntil,
  postOrder,
  stockLevels,
  waitSettled,
  type Line,
  type OrderView,
  type PlacedOrder,
} from "../support/orders.ts";
import {
  manySignUpsEnv,
  removeDataDir,
  startShop,
  type ShopProcess,
} from "../support/shop-process.ts";

const adminToken = "crash-test-admin-token";
const env = {
  ...manySignUpsEnv,
  PLEXUS_ADMIN_TOKEN: adminToken,
  PLEXUS_RATE_LIMIT: "100000",
  PLEXUS_PAYMENT_SLOW_MS: "1500",
  PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS: "1000",
  PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "1000",
  PLEXUS_ORDER_RETRY_DELAY_MS: "100",
};
const crashes = 3;
const loopsPerRound = 3;
/** Orders each round places at most, so the check stays quick whatever the machine's speed. */
const maxOrdersPerRound = 36;
const tokens = ["tok_visa", "tok_visa", "tok_declined", "tok_slow", "tok_flaky"];
const products = ["prd_dune", "prd_usb-c-cable", "prd_headlamp", "prd_notebook-a5", "prd_moka-pot"];

interface Attempt {
  readonly user: number;
  readonly key: string;
  readonly lines: Line[];
  readonly paymentToken: string;
  /** Known once a 202 came back (possibly only on the retry after a restart). */
  id?: string;
}

const attempts: Attempt[] = [];
let shop: ShopProcess | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await shop?.stop("SIGKILL");
  if (dataDir) await removeDataDir(dataDir);
});

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)]!;
}

function newAttempt(users: number): Attempt {
  const outOfStock = Math.random() < 0.05;
  const lines: Line[] = outOfStock
    ? [{ productId: "prd_tent-2p", quantity: 1000 }]
    : [{ productId: pick(products), quantity: 1 + Math.floor(Math.random() * 2) }];
  if (!outOfStock && Math.random() < 0.3) lines.push({ productId: pick(products), quantity: 1 });
  return {
    user: Math.floor(Math.random() * users),
    key: randomUUID(),
    lines,
    paymentToken: pick(tokens),
  };
}

/** Sends (or re-sends) an attempt; true when it got its 202. Throws on any other answer. */
async function send(url: string, tokenOf: (user: number) => string, attempt: Attempt) {
  const reply = await postOrder(
    url,
    tokenOf(attempt.user),
    attempt.lines,
    attempt.paymentToken,
    attempt.key,
  );
  if (reply.status !== 202) {
    throw new Error(`order ${attempt.key}: ${reply.status} ${reply.text}`);
  }
  const id = reply.body.data.id as string;
  if (attempt.id !== undefined && attempt.id !== id) {
    throw new Error(`key ${attempt.key} answered ${id}, earlier ${attempt.id}`);
  }
  attempt.id = id;
}

/** Places orders until the process dies under it (or the round's cap is reached). */
async function orderStream(
  url: string,
  tokenOf: (user: number) => string,
  users: number,
  budget: { left: number },
) {
  while (budget.left > 0) {
    budget.left -= 1;
    const attempt = newAttempt(users);
    attempts.push(attempt);
    try {
      await send(url, tokenOf, attempt);
    } catch (error) {
      // The process is gone (connection refused or reset): the answer is lost, not the order.
      if (error instanceof TypeError) return;
      throw error;
    }
    await sleep(20);
  }
}

it("settles every order exactly once across repeated SIGKILLs", async () => {
  shop = await startShop({ env, startTimeoutMs: 110_000 });
  dataDir = shop.dataDir;
  const seeded = await stockLevels(shop.url);
  const users = await Promise.all([0, 1, 2].map((i) => signUp(shop!.url, `Crash ${i}`)));
  const tokenOf = (user: number): string => users[user]!.token;

  for (let round = 1; round <= crashes; round++) {
    const budget = { left: maxOrdersPerRound };
    const streams = Array.from({ length: loopsPerRound }, () =>
      orderStream(shop!.url, tokenOf, users.length, budget),
    );
    // A random moment: while orders are being accepted and sagas are mid-flight.
    await sleep(300 + Math.random() * 1700);
    await shop.stop("SIGKILL");
    await Promise.all(streams);
    shop = await startShop({ env, dataDir, startTimeoutMs: 60_000 });
    // Clients retry the requests whose answers were lost, with the same key and body.
    for (const attempt of attempts) {
      if (attempt.id === undefined) await send(shop.url, tokenOf, attempt);
    }
  }

  const placed: PlacedOrder[] = attempts.map((a) => ({
    id: a.id!,
    token: tokenOf(a.user),
    lines: a.lines,
  }));
  expect(placed.length).toBeGreaterThan(0);
  // The restarted process resumes the killed one's sagas at once, leases and all: its lock on the
  // data directory proves their holder dead (see SagaOrchestratorOptions.leaseMs). The bound
  // covers running them (slow and flaky payments, retries), doubled for a loaded CI machine.
  const settling = performance.now();
  const settled = new Map<string, OrderView>();
  for (const order of placed) {
    try {
      settled.set(order.id, await waitSettled(shop.url, order.token, order.id, 60_000));
    } catch (error) {
      // Show the saga behind a stuck order: its status and step timeline say why.
      const saga = await getSaga(shop.url, adminToken, order.id);
      throw new Error(`${String(error)}\nsaga: ${JSON.stringify(saga)}`, { cause: error });
    }
  }
  console.info(
    `${placed.length} orders settled ${Math.round(performance.now() - settling)} ms after the ` +
      `last restart (informational)`,
  );
  // One order per key: retries after the crashes made no second order.
  expect(new Set(placed.map((o) => o.id)).size).toBe(attempts.length);

  // The charges that timed out or failed (slow and flaky tokens, crowded around the restarts)
  // may have opened the payments circuit (5 s, longer if it reopened): a read is refused with a
  // 503 until it lets calls through again, which it does once only reads come.
  const [first] = placed;
  await pollUntil(
    () => request(shop!.url, `/api/v1/orders/${first!.id}/payments`, { token: first!.token }),
    (reply) => (reply.status === 200 ? reply : undefined),
    { timeoutMs: 70_000, intervalMs: 500, what: "payments answering reads" },
  );
  expect(await invariantViolations(shop.url, seeded, placed)).toEqual([]);

  // Exactly one notification per settled order, of the matching type, and nothing else.
  for (const [index, user] of users.entries()) {
    const mine = placed.filter((_, i) => attempts[i]!.user === index);
    const notes = await pollUntil(
      () => request(shop!.url, "/api/v1/me/notifications?limit=100", { token: user.token }),
      (reply) => (reply.body.data.length >= mine.length ? reply.body.data : undefined),
      { timeoutMs: 10_000, what: `notifications of user ${index}` },
    );
    const expected = mine
      .map((o) => `${o.id} order.${settled.get(o.id)!.status.toLowerCase()}`)
      .sort();
    const actual = (notes as { orderId: string; type: string }[])
      .map((n) => `${n.orderId} ${n.type}`)
      .sort();
    expect(actual).toEqual(expected);
  }
}, 360_000);
