/**
 * Replicas: several shop processes (`plexus up`, each on its own port) on one Postgres database,
 * as `DATABASE_URL` lets them run. What only real concurrency shows:
 * - they start at once on a fresh database (migrations, the seeded catalog and the token signing
 *   key each made exactly once);
 * - a client's retries of one order, spread over the processes concurrently with the same
 *   Idempotency-Key and body, make one order and at most one SUCCEEDED charge;
 * - the sagas of a process killed mid-charge are taken over by another once their leases ran out
 *   (`PLEXUS_ORDER_SAGA_LEASE_MS`, shortened here), re-run with the same idempotency keys, and
 *   settled once: API.md's invariant holds;
 * - the order history stays whole when it is rebuilt while every process writes to the event log
 *   (appends take the log's lock, so positions commit in order and the rebuild, paging by
 *   position, cannot pass an event not committed yet — ADR 19).
 *
 * Postgres only (vitest.config.ts): on PGlite a data directory admits one process (its lock).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, signUp } from "../support/http.ts";
import {
  getCharges,
  getSaga,
  invariantViolations,
  placeOrder,
  pollUntil,
  postOrder,
  stockLevels,
  waitSettled,
  type PlacedOrder,
} from "../support/orders.ts";
import {
  createDataDir,
  dataEnv,
  manySignUpsEnv,
  removeDataDir,
  startShop,
  type ShopProcess,
} from "../support/shop-process.ts";

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const adminToken = "replicas-admin-token";
const env = {
  ...manySignUpsEnv,
  PLEXUS_ADMIN_TOKEN: adminToken,
  PLEXUS_RATE_LIMIT: "100000",
  // tok_slow answers after 2.5 s, within the charge timeouts: a try is in flight long enough to
  // kill its process under it, and the retry after the takeover gets the charge.
  PLEXUS_PAYMENT_SLOW_MS: "2500",
  PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS: "4000",
  PLEXUS_ORDER_CHARGE_TIMEOUT_MS: "4000",
  PLEXUS_ORDER_RETRY_DELAY_MS: "100",
  PLEXUS_ORDER_SAGA_LEASE_MS: "3000",
  PLEXUS_ORDER_SAGA_POLL_MS: "250",
};
/** Processes started at once on the fresh database. */
const processes = 3;
const product = "prd_notebook-a5";

let dataDir: string;
let shops: ShopProcess[] = [];
let seeded: Map<string, number>;
/** Every order placed here, for the invariant at the end. */
const placed: PlacedOrder[] = [];

beforeAll(async () => {
  dataDir = await createDataDir();
  shops = await Promise.all(
    Array.from({ length: processes }, () => startShop({ dataDir, env, startTimeoutMs: 110_000 })),
  );
  seeded = await stockLevels(shops[0]!.url);
}, 120_000);

afterAll(async () => {
  await Promise.all(shops.map((shop) => shop.stop("SIGKILL")));
  if (dataDir) await removeDataDir(dataDir);
});

describe(`${processes} shop processes on one Postgres database`, () => {
  it("start at once: one catalog, one signing key, every one ready", async () => {
    const catalogs = await Promise.all(shops.map((shop) => stockLevels(shop.url)));
    for (const catalog of catalogs) expect(catalog).toEqual(seeded);
    expect(seeded.size).toBeGreaterThanOrEqual(20);
    // A token issued by one process verifies on every other: they sign with the same key.
    const user = await signUp(shops[0]!.url);
    for (const shop of shops) {
      expect((await request(shop.url, "/health/ready")).status).toBe(200);
      const me = await request(shop.url, `/api/v1/users/${user.id}`, { token: user.token });
      expect(me.status).toBe(200);
    }
    const jwks = await Promise.all(
      shops.map(async (shop) => (await request(shop.url, "/.well-known/jwks.json")).body),
    );
    expect(jwks[0].keys).toHaveLength(1);
    for (const set of jwks) expect(set).toEqual(jwks[0]);
  });

  it("make one order and at most one charge of one key raced over every process", async () => {
    const lines = [{ productId: product, quantity: 1 }];
    for (let round = 0; round < 3; round++) {
      const user = await signUp(shops[round % processes]!.url, `Racer ${round}`);
      const key = randomUUID();
      const replies = await Promise.all(
        Array.from({ length: 4 * processes }, (_, i) =>
          postOrder(shops[i % processes]!.url, user.token, lines, "tok_visa", key),
        ),
      );
      expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 202));
      const id = replies[0]!.body.data.id as string;
      expect(new Set(replies.map((reply) => reply.body.data.id))).toEqual(new Set([id]));
      placed.push({ id, token: user.token, lines });
      const order = await waitSettled(shops[1]!.url, user.token, id);
      expect(order.status).toBe("CONFIRMED");
      const charges = await getCharges(shops[2 % processes]!.url, user.token, id);
      expect(charges.filter((c) => c.status === "SUCCEEDED")).toHaveLength(1);
      // The user's history (the read model) lists one order once it knows this one settled.
      const history = await pollUntil(
        () => request(shops[0]!.url, "/api/v1/me/orders", { token: user.token }),
        (reply) =>
          reply.body.data.some((o: { status: string }) => o.status === "CONFIRMED")
            ? reply.body
            : undefined,
        { timeoutMs: 10_000, what: "the order in the history" },
      );
      expect(history.pagination.total).toBe(1);
    }
    // Stock taken exactly once per order: no second order reserved anything.
    expect(await invariantViolations(shops[0]!.url, seeded, placed)).toEqual([]);
  }, 60_000);

  it("keep every order in the history when it is rebuilt while they take orders", async () => {
    const users = await Promise.all(shops.map((shop, i) => signUp(shop.url, `Historian ${i}`)));
    const lines = [{ productId: product, quantity: 1 }];
    const mine = new Map<string, string[]>(users.map((user) => [user.id, []]));
    async function placeSome(): Promise<void> {
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          users.map(async (user, u) => {
            const shop = shops[(round + u) % processes]!;
            const order = await placeOrder(shop.url, user.token, lines, "tok_visa");
            placed.push(order);
            mine.get(user.id)!.push(order.id);
          }),
        );
      }
    }
    // The rebuild resets the read model and replays the event log by position while every
    // process appends to it.
    const [, rebuilt] = await Promise.all([
      placeSome(),
      run(process.execPath, ["apps/shop/scripts/rebuild-order-history.ts"], {
        cwd: root,
        env: { ...process.env, ...(await dataEnv(dataDir)), PLEXUS_LOG_LEVEL: "warn" },
      }),
    ]);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ resumed: false });
    for (const user of users) {
      const ids = mine.get(user.id)!;
      const listed = await pollUntil(
        () => request(shops[0]!.url, "/api/v1/me/orders?limit=100", { token: user.token }),
        (reply) => {
          const rows = reply.body.data as { id: string; status: string }[];
          return rows.length === ids.length && rows.every((r) => r.status !== "PENDING")
            ? rows
            : undefined;
        },
        { timeoutMs: 15_000, what: `the history of ${user.id}` },
      );
      expect(listed.map((row) => row.id).sort()).toEqual([...ids].sort());
      expect(listed.map((row) => row.status)).toEqual(ids.map(() => "CONFIRMED"));
    }
  }, 60_000);

  it("take over the sagas of a process killed mid-charge, and settle each once", async () => {
    const [victim, survivor] = shops as [ShopProcess, ShopProcess];
    const user = await signUp(survivor.url, "Slow Payer");
    const orders: PlacedOrder[] = [];
    for (let i = 0; i < 4; i++) {
      const lines = [{ productId: product, quantity: 1 + i }];
      const reply = await postOrder(victim.url, user.token, lines, "tok_slow");
      expect(reply.status).toBe(202);
      orders.push({ id: reply.body.data.id as string, token: user.token, lines });
    }
    placed.push(...orders);
    // Every saga is at its charge step with a try in flight at the victim's provider (read from
    // the shared database through the survivor).
    for (const order of orders) {
      await pollUntil(
        () => getSaga(survivor.url, adminToken, order.id),
        (saga) =>
          saga.steps.some((s) => s.step === "charge" && s.outcome === null) ? saga : undefined,
        { timeoutMs: 10_000, what: `saga ${order.id} charging` },
      );
    }
    await victim.stop("SIGKILL");

    for (const order of orders) {
      const settled = await waitSettled(survivor.url, user.token, order.id, 30_000);
      expect(settled.status).toBe("CONFIRMED");
      const saga = await getSaga(survivor.url, adminToken, order.id);
      const charging = saga.steps.filter((s) => s.step === "charge" && s.phase === "action");
      // The victim's try was cut off and marked so; the survivor re-ran it with the same key.
      expect(charging.map((s) => s.outcome)).toContain("INTERRUPTED");
      expect(charging.at(-1)!.outcome).toBe("SUCCEEDED");
      expect(new Set(charging.map((s) => s.idempotencyKey)).size).toBe(1);
      const charges = await getCharges(survivor.url, user.token, order.id);
      expect(charges.filter((c) => c.status === "SUCCEEDED")).toHaveLength(1);
    }
    expect(await invariantViolations(survivor.url, seeded, placed)).toEqual([]);
  }, 60_000);
});
