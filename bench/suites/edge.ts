/**
 * `edge`: `GET /api/v1/products/{id}` per second, 32 in flight, one product, in the same run:
 * - `raw-pg-handler` (baseline): a hand-written `node:http` + `pg` Pool handler, one query on the
 *   catalog's `products` table, the same JSON (`edge/raw-pg-handler.ts`);
 * - `plexus-monolith-pg`: the shop as `plexus up apps/shop/topology/monolith.ts` runs it, with
 *   `DATABASE_URL` on a fresh Postgres database created for the run (dropped after) — the same
 *   database the baseline reads: gateway (rate limit, validation, telemetry as configured by
 *   default) → in-process RPC to the catalog service → its repository;
 * - `plexus-monolith`: the same on the embedded PGlite default, a fresh temporary data directory.
 *
 * Every contender must answer a 200 with the same body, byte for byte (checked before measuring
 * and on every request). The gateway's per-client rate limit is raised through
 * `PLEXUS_RATE_LIMIT`, or the bench would time 429s.
 *
 * Load generator (this process, undici Pools) and the three servers (a process each) talk over
 * loopback. Each server starts once; the rounds interleave.
 */
import { join } from "node:path";
import pg from "pg";
import { Pool } from "undici";
import { createTestDatabase, type TestDatabase } from "@plexus/testing";
import { removeDataDir, startShop, type ShopProcess } from "../../test/support/shop-process.ts";
import { startChildServer, type ChildServer } from "../child-server.ts";
import type { Candidate, Suite } from "../harness.ts";
import {
  checkAnswer,
  productBody,
  productColumns,
  type ProductRow,
} from "./edge/product-answer.ts";

/** Requests kept in flight by the load generator, for every contender. */
const inFlight = 32;
/** The shop's start on a fresh data directory runs migrations and seeds (and initdb on PGlite). */
const shopStartTimeoutMs = 120_000;
/** What the shops run with besides their data: a rate limit no bench run reaches. */
const shopEnv = { PLEXUS_RATE_LIMIT: "100000000" };

/** The product every request reads, as the catalog's table holds it, and its expected answer. */
async function expectedAnswer(databaseUrl: string): Promise<{ path: string; body: string }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<ProductRow>(
      `SELECT ${productColumns} FROM catalog.products ORDER BY id LIMIT 1`,
    );
    const row = rows[0];
    if (!row) throw new Error("the shop's catalog is empty: nothing to read");
    return { path: `/api/v1/products/${encodeURIComponent(row.id)}`, body: productBody(row) };
  } finally {
    await client.end();
  }
}

function candidate(
  name: string,
  url: string,
  expected: { path: string; body: string },
  stop: () => Promise<void>,
): Candidate {
  let pool: Pool | undefined;
  const get = async (): Promise<void> => {
    const res = await pool!.request({ path: expected.path, method: "GET" });
    checkAnswer(name, res.statusCode, await res.body.text(), expected.body);
  };
  return {
    name,
    op: get,
    async setup() {
      pool = new Pool(url, { connections: inFlight });
      await get(); // a wrong answer fails the run before any timing
    },
    async teardown() {
      try {
        await pool?.close();
      } finally {
        await stop();
      }
    },
  };
}

export async function createSuite(): Promise<Suite> {
  let database: TestDatabase | undefined;
  let pgShop: ShopProcess | undefined;
  let pgliteShop: ShopProcess | undefined;
  let raw: ChildServer<{ url: string }> | undefined;
  const stopShop = async (shop: ShopProcess | undefined): Promise<void> => {
    if (!shop) return;
    await shop.stop();
    await removeDataDir(shop.dataDir);
  };
  const startedAt = performance.now();
  try {
    database = await createTestDatabase({ prefix: "plexus_bench_edge" });
    const databaseUrl = database.url;
    // All three start at once: the baseline's pool connects on its first request, once the shop
    // has migrated and seeded the database.
    const [onPg, onPglite, rawStarted] = await Promise.allSettled([
      startShop({
        env: { ...shopEnv, DATABASE_URL: databaseUrl },
        startTimeoutMs: shopStartTimeoutMs,
      }),
      startShop({ env: shopEnv, startTimeoutMs: shopStartTimeoutMs }),
      startChildServer<{ url: string }>({
        name: "raw-pg-handler",
        script: join(import.meta.dirname, "edge", "raw-pg-handler.ts"),
        env: { DATABASE_URL: databaseUrl },
      }),
    ]);
    if (onPg.status === "fulfilled") pgShop = onPg.value;
    if (onPglite.status === "fulfilled") pgliteShop = onPglite.value;
    if (rawStarted.status === "fulfilled") raw = rawStarted.value;
    for (const result of [onPg, onPglite, rawStarted]) {
      if (result.status === "rejected") throw result.reason;
    }
    const expected = await expectedAnswer(databaseUrl);
    console.log(`note: servers ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    const rawServer = raw!;
    const shopOnPg = pgShop!;
    const shopOnPglite = pgliteShop!;
    const db = database;
    return {
      name: "edge",
      concurrency: inFlight,
      baseline: candidate("raw-pg-handler", rawServer.ready.url, expected, () => rawServer.stop()),
      candidates: [
        candidate("plexus-monolith-pg", shopOnPg.url, expected, async () => {
          try {
            await stopShop(shopOnPg);
          } finally {
            await db.drop();
          }
        }),
        candidate("plexus-monolith", shopOnPglite.url, expected, () => stopShop(shopOnPglite)),
      ],
      description: {
        measures: `GET ${expected.path} per second, ${inFlight} in flight, p50/p99 per request`,
        answer: "200 with the same body from every contender, checked on every request",
        store:
          "raw-pg-handler and plexus-monolith-pg: one fresh Postgres database (127.0.0.1), " +
          "the catalog's products table; plexus-monolith: PGlite on a fresh data directory",
        pool: "raw-pg-handler: pg Pool of 5, the shop's catalog pool size (storage's default)",
        processes: "load generator (this process, undici) and one server process per contender",
        shop: `plexus up apps/shop/topology/monolith.ts, PLEXUS_RATE_LIMIT=${shopEnv.PLEXUS_RATE_LIMIT}`,
      },
    };
  } catch (error) {
    await Promise.allSettled([raw?.stop(), stopShop(pgShop), stopShop(pgliteShop)]);
    await database?.drop();
    throw error;
  }
}
