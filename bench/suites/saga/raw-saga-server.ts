/**
 * The `saga` suite's baseline server (a separate process): the order saga's state changes as raw
 * sequential SQL transactions on the same store as the shop (PGlite through @plexus/storage, on
 * a data directory), behind a bare node:http endpoint. No gateway, auth, outbox, broker, saga
 * engine or polling: what settling an order costs when it is only the database work.
 *
 * `POST /orders {"items":[{"productId","quantity"}]}` → 200 `{"id","status"}` once settled:
 * 1. place: insert the PENDING order, priced from the products;
 * 2. reserve: conditional stock decrements (all or nothing);
 * 3. charge: insert the SUCCEEDED charge;
 * 4. confirm: the order CONFIRMED, its notification and its history line.
 *
 * Env: `DATA_DIR` (required). Prints `{"url": ...}` on stdout once listening; stops on SIGTERM.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Migration, Sql } from "@plexus/core";
import { openStorage } from "@plexus/storage";

const productIds = [
  "prd_dune",
  "prd_sicp",
  "prd_ddia",
  "prd_usb-c-cable",
  "prd_headlamp",
  "prd_notebook-a5",
  "prd_moka-pot",
  "prd_water-bottle",
];

const migrations: Migration[] = [
  {
    id: 1,
    name: "raw saga tables",
    sql: `
CREATE TABLE products (id text PRIMARY KEY, price_cents bigint NOT NULL, stock integer NOT NULL CHECK (stock >= 0));
CREATE TABLE orders (id text PRIMARY KEY, user_id text NOT NULL, status text NOT NULL, lines jsonb NOT NULL,
  total_cents bigint NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE charges (id text PRIMARY KEY, order_id text NOT NULL, status text NOT NULL, amount_cents bigint NOT NULL,
  idempotency_key text NOT NULL UNIQUE);
CREATE TABLE notifications (id text PRIMARY KEY, user_id text NOT NULL, type text NOT NULL, order_id text NOT NULL,
  created_at timestamptz NOT NULL, UNIQUE (order_id, type));
CREATE TABLE order_history (id text PRIMARY KEY, user_id text NOT NULL, status text NOT NULL,
  total_cents bigint NOT NULL, item_count integer NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO products (id, price_cents, stock) VALUES
${productIds.map((id, i) => `  ('${id}', ${1000 + i * 100}, 100000000)`).join(",\n")};
`,
  },
];

interface Line {
  productId: string;
  quantity: number;
}

const dataDir = process.env["DATA_DIR"];
if (!dataDir) throw new Error("DATA_DIR is required");
const storage = await openStorage({ dataDir });
const db = await storage.forService("raw_saga", migrations);

async function settle(lines: Line[]): Promise<{ id: string; status: string }> {
  const id = `ord_${randomUUID()}`;
  const userId = "usr_bench";
  const now = new Date().toISOString();
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ total: string }>(
      `SELECT COALESCE(sum(p.price_cents * l.quantity), 0)::text AS total
         FROM jsonb_to_recordset($1::jsonb) AS l("productId" text, quantity int)
         JOIN products p ON p.id = l."productId"`,
      [JSON.stringify(lines)],
    );
    await tx.query(
      `INSERT INTO orders (id, user_id, status, lines, total_cents, created_at, updated_at)
       VALUES ($1, $2, 'PENDING', $3::jsonb, $4::bigint, $5::timestamptz, $5::timestamptz)`,
      [id, userId, JSON.stringify(lines), rows[0]!.total, now],
    );
  });
  const reserved = await db
    .transaction(async (tx: Sql) => {
      for (const line of [...lines].sort((a, b) => a.productId.localeCompare(b.productId))) {
        const { rowCount } = await tx.query(
          "UPDATE products SET stock = stock - $2 WHERE id = $1 AND stock >= $2",
          [line.productId, line.quantity],
        );
        if (rowCount !== 1) throw new Error("OUT_OF_STOCK");
      }
      return true;
    })
    .catch(() => false);
  if (!reserved) {
    await db.query("UPDATE orders SET status = 'CANCELLED', updated_at = now() WHERE id = $1", [
      id,
    ]);
    return { id, status: "CANCELLED" };
  }
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO charges (id, order_id, status, amount_cents, idempotency_key)
       SELECT $1, id, 'SUCCEEDED', total_cents, $2 FROM orders WHERE id = $3`,
      [`ch_${randomUUID()}`, `${id}:charge`, id],
    );
  });
  await db.transaction(async (tx) => {
    await tx.query("UPDATE orders SET status = 'CONFIRMED', updated_at = now() WHERE id = $1", [
      id,
    ]);
    await tx.query(
      `INSERT INTO notifications (id, user_id, type, order_id, created_at)
       VALUES ($1, $2, 'order.confirmed', $3, now())`,
      [randomUUID(), userId, id],
    );
    await tx.query(
      `INSERT INTO order_history (id, user_id, status, total_cents, item_count, created_at)
       SELECT id, user_id, status, total_cents, $2, created_at FROM orders WHERE id = $1`,
      [id, lines.reduce((n, l) => n + l.quantity, 0)],
    );
  });
  return { id, status: "CONFIRMED" };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
  void (async () => {
    try {
      if (req.method !== "POST" || req.url !== "/orders")
        return reply(res, 404, { error: "not found" });
      const { items } = JSON.parse(await readBody(req)) as { items: Line[] };
      reply(res, 200, await settle(items));
    } catch (error) {
      reply(res, 500, { error: String(error) });
    }
  })();
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void storage.close().then(() => process.exit(0));
});
