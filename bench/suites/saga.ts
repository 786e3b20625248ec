/**
 * `saga`: settled orders per second (POST → CONFIRMED), one order at a time, in the same run:
 * - `raw-transactions` (baseline): the saga's state changes as four raw sequential SQL
 *   transactions on the same store (PGlite on a data directory) behind a bare node:http endpoint,
 *   answered once settled (`saga/raw-saga-server.ts`);
 * - `plexus-monolith`: the shop as `npm start` runs it (`plexus up apps/shop/topology/monolith.ts`):
 *   `POST /api/v1/orders` through the gateway (JWT auth, rate limit, validation), the orders
 *   service, the persisted `place-order` saga (catalog reservation → payments charge through the
 *   simulated provider over HTTP → confirm), outbox → in-memory broker → consumers (history read
 *   model, notifications); the client polls `GET /api/v1/orders/{id}` until CONFIRMED.
 *
 * `plexus-distributed` is not measured: there is no distributed topology of the shop yet.
 *
 * Load generator (this process) and servers (two child processes) talk over loopback. Every op
 * is bounded: a POST, then at most `maxPolls` polls.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { signUp } from "../../test/support/http.ts";
import { removeDataDir, startShop, type ShopProcess } from "../../test/support/shop-process.ts";
import { startChildServer, type ChildServer } from "../child-server.ts";
import type { Candidate, Suite } from "../harness.ts";

/** Between polls of a pending order: short, since the poll interval adds to every latency. */
const pollIntervalMs = 2;
/** Polls per order at most (≥ 10 s): a saga that does not settle fails the run, not hangs it. */
const maxPolls = 5_000;

interface RawServer {
  readonly url: string;
  readonly server: ChildServer<{ url: string }>;
  readonly dataDir: string;
}

async function startRawServer(): Promise<RawServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "plexus-bench-raw-"));
  const server = await startChildServer<{ url: string }>({
    name: "raw-transactions",
    script: join(import.meta.dirname, "saga", "raw-saga-server.ts"),
    env: { DATA_DIR: dataDir },
    // A fresh PGlite data directory runs initdb, which takes long on a busy machine.
    startTimeoutMs: 120_000,
  });
  return { url: server.ready.url, server, dataDir };
}

async function stopRawServer(raw: RawServer): Promise<void> {
  await raw.server.stop();
  await rm(raw.dataDir, { recursive: true, force: true });
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as { data?: { id: string }; id?: string } };
}

/** Hands out products so no order ever meets an empty shelf: the one with the most units left. */
function createShelf(stock: Map<string, number>) {
  return () => {
    let best: string | undefined;
    let most = 0;
    for (const [id, left] of stock) {
      if (left > most) {
        best = id;
        most = left;
      }
    }
    if (best === undefined) throw new Error("the catalog ran out of stock: shorten the run");
    stock.set(best, most - 1);
    return best;
  };
}

export async function createSuite(): Promise<Suite> {
  const [raw, shop] = await Promise.all([
    startRawServer(),
    startShop({ startTimeoutMs: 120_000, env: { PLEXUS_RATE_LIMIT: "100000000" } }),
  ]);

  const rawProducts = ["prd_dune", "prd_usb-c-cable", "prd_headlamp", "prd_moka-pot"];
  let rawNext = 0;
  const baseline: Candidate = {
    name: "raw-transactions",
    async op() {
      const productId = rawProducts[rawNext++ % rawProducts.length]!;
      const reply = await postJson(`${raw.url}/orders`, { items: [{ productId, quantity: 1 }] });
      if (reply.status !== 200 || (reply.body as { status?: string }).status !== "CONFIRMED") {
        throw new Error(`raw order: ${reply.status} ${JSON.stringify(reply.body)}`);
      }
    },
    teardown: () => stopRawServer(raw),
  };

  const monolith = await monolithCandidate(shop);
  return {
    name: "saga",
    baseline,
    candidates: [monolith],
    description: {
      measures: "settled orders per second, one at a time (POST → CONFIRMED)",
      store: "PGlite on a data directory, one process",
      omitted: "plexus-distributed: the shop has no distributed topology yet",
    },
  };
}

async function monolithCandidate(shop: ShopProcess): Promise<Candidate> {
  const { token } = await signUp(shop.url, "Bench");
  const catalog = (await (await fetch(`${shop.url}/api/v1/products?limit=100`)).json()) as {
    data: { id: string; stock: number }[];
  };
  const nextProduct = createShelf(new Map(catalog.data.map((p) => [p.id, p.stock])));
  const auth = { authorization: `Bearer ${token}` };
  return {
    name: "plexus-monolith",
    async op() {
      const placed = await postJson(
        `${shop.url}/api/v1/orders`,
        {
          items: [{ productId: nextProduct(), quantity: 1 }],
          paymentMethod: { token: "tok_visa" },
        },
        { ...auth, "idempotency-key": randomUUID() },
      );
      const id = placed.body.data?.id;
      if (placed.status !== 202 || id === undefined) {
        throw new Error(`place order: ${placed.status} ${JSON.stringify(placed.body)}`);
      }
      for (let poll = 0; poll < maxPolls; poll++) {
        const res = await fetch(`${shop.url}/api/v1/orders/${id}`, { headers: auth });
        const { data } = (await res.json()) as { data: { status: string; failureReason?: string } };
        if (data.status === "CONFIRMED") return;
        if (data.status !== "PENDING")
          throw new Error(`order ${id} ${data.status} ${data.failureReason}`);
        await sleep(pollIntervalMs);
      }
      throw new Error(`order ${id} did not settle within ${maxPolls} polls`);
    },
    async teardown() {
      await shop.stop();
      await removeDataDir(shop.dataDir);
    },
  };
}
