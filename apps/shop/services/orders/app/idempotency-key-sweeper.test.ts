import { randomUUID } from "node:crypto";
import { createLogger, type Db, type Sql } from "@plexus/core";
import { isUniqueViolation } from "@plexus/storage";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqlOrderRepository } from "../adapters/sql-order-repository.ts";
import { ordersMigrations } from "../migrations.ts";
import {
  openServiceTestStorage,
  storageBackends,
  type ServiceTestStorage,
} from "../../test-storage.ts";
import { createIdempotencyKeySweeper } from "./idempotency-key-sweeper.ts";

const ttlMs = 60 * 60_000;
const intervalMs = 5 * 60_000;
const logger = createLogger({ name: "sweeper-test", level: "silent" });

const backends = await storageBackends();

describe.each(backends)("idempotency key expiry on $kind", ({ kind, available }) => {
  let opened: ServiceTestStorage | undefined;
  let db: Db;
  let clock: FakeClock;

  /** Writes a new order and records `key` for it on `sql`, first used now. */
  async function recordKey(sql: Sql, userId: string, key: string): Promise<void> {
    const at = new Date(clock.now()).toISOString();
    const orders = createSqlOrderRepository(sql);
    const orderId = `ord_${randomUUID()}`;
    await orders.insert({
      order: {
        id: orderId,
        userId,
        status: "PENDING",
        lines: [{ productId: "prd_dune", quantity: 1, unitPriceCents: 999n }],
        totalCents: 999n,
        currency: "EUR",
        failureReason: undefined,
        payment: undefined,
        createdAt: at,
        updatedAt: at,
      },
      paymentToken: "tok_visa",
    });
    await orders.insertIdempotencyKey({
      userId,
      idempotencyKey: key,
      requestHash: "hash",
      orderId,
      createdAt: at,
    });
  }

  /** Records a key for a new order of a new user, first used now; returns the user id. */
  async function useKey(key = "key-1"): Promise<string> {
    const userId = `usr_${randomUUID()}`;
    await recordKey(db, userId, key);
    return userId;
  }

  async function keysOf(userIds: readonly string[]): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM order_idempotency_keys WHERE user_id = ANY($1::text[])",
      [userIds],
    );
    return rows[0]!.n;
  }

  function sweeper(options: { batchSize?: number; maxBatches?: number; intervalMs?: number } = {}) {
    return createIdempotencyKeySweeper({
      db,
      orders: createSqlOrderRepository,
      clock,
      logger,
      ttlMs,
      intervalMs,
      ...options,
    });
  }

  beforeAll(async () => {
    if (!available) return;
    opened = await openServiceTestStorage(kind, "plexus_orders_keys", {
      name: "orders",
      migrations: ordersMigrations,
    });
    ({ db } = opened);
    clock = createFakeClock(Date.parse("2026-12-07T12:00:00Z"));
  });

  afterAll(async () => {
    await opened?.close();
  });

  describe.skipIf(!available)("reads and sweeps", () => {
    it("reads a key as used until its TTL has passed, then as absent", async () => {
      const userId = await useKey();
      const orders = createSqlOrderRepository(db);
      const expiredBy = () => new Date(clock.now() - ttlMs).toISOString();
      clock.advance(ttlMs - 1);
      expect(await orders.findIdempotencyKey(userId, "key-1", expiredBy())).toBeDefined();
      await orders.deleteExpiredIdempotencyKey(userId, "key-1", expiredBy());
      expect(await keysOf([userId])).toBe(1);
      clock.advance(1);
      expect(await orders.findIdempotencyKey(userId, "key-1", expiredBy())).toBeUndefined();
      await orders.deleteExpiredIdempotencyKey(userId, "key-1", expiredBy());
      expect(await keysOf([userId])).toBe(0);
    });

    it("lets exactly one of concurrent replacements of an expired key win", async () => {
      const userId = await useKey("race");
      clock.advance(ttlMs);
      const expiredBy = new Date(clock.now() - ttlMs).toISOString();
      // PlaceOrder's transaction after expiry: delete the expired row, record the key anew.
      const outcomes = await Promise.allSettled(
        [1, 2, 3].map(() =>
          db.transaction(async (tx) => {
            await createSqlOrderRepository(tx).deleteExpiredIdempotencyKey(
              userId,
              "race",
              expiredBy,
            );
            await recordKey(tx, userId, "race");
          }),
        ),
      );
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") expect(isUniqueViolation(outcome.reason)).toBe(true);
      }
      expect(await keysOf([userId])).toBe(1);
    });

    it("sweeps only expired keys, never a live one", async () => {
      const old = await useKey();
      clock.advance(1);
      const live = await useKey();
      clock.advance(ttlMs - 1);
      expect(await sweeper().sweep()).toBeGreaterThanOrEqual(1);
      expect(await keysOf([old])).toBe(0);
      expect(await keysOf([live])).toBe(1);
      clock.advance(1);
      await sweeper().sweep();
      expect(await keysOf([live])).toBe(0);
    });

    it("deletes in bounded batches, leaving a backlog to the next sweep", async () => {
      await sweeper().sweep();
      const users = [];
      for (let i = 0; i < 5; i++) users.push(await useKey(`batch-${i}`));
      clock.advance(ttlMs);
      const bounded = sweeper({ batchSize: 2, maxBatches: 2 });
      expect(await bounded.sweep()).toBe(4);
      expect(await keysOf(users)).toBe(1);
      expect(await bounded.sweep()).toBe(1);
      expect(await keysOf(users)).toBe(0);
    });

    it("sweeps on its timer once started, and leaves no timer behind when closed", async () => {
      const background = sweeper();
      expect(clock.pendingTimers()).toBe(0);
      background.start();
      expect(clock.pendingTimers()).toBe(1);
      const userId = await useKey();
      // Past the TTL without firing anything, then exactly the one pending sweep.
      clock.setNow(clock.now() + ttlMs);
      await clock.advanceAsync(intervalMs);
      await expect.poll(() => keysOf([userId])).toBe(0);
      // Re-armed once the sweep has finished: one sweep at a time, for as long as it runs.
      await expect.poll(() => clock.pendingTimers()).toBe(1);
      await background.close();
      expect(clock.pendingTimers()).toBe(0);
      const after = await useKey();
      await clock.advanceAsync(ttlMs + intervalMs);
      expect(await keysOf([after])).toBe(1);
    });

    it("sets no timer when the interval is 0", async () => {
      const off = sweeper({ intervalMs: 0 });
      const before = clock.pendingTimers();
      off.start();
      expect(clock.pendingTimers()).toBe(before);
      await off.close();
    });
  });
});
