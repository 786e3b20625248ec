/**
 * The `edge` suite's baseline server (a process of its own): a hand-written `node:http` handler
 * and a `pg` Pool answering `GET /api/v1/products/{id}` with one query on the catalog's
 * `products` table of the shop's own database, the same JSON as the gateway. No framework, no
 * auth, rate limit, validation, RPC hop or telemetry: what the read costs when it is only HTTP
 * and the database.
 *
 * Env: `DATABASE_URL` (required; the shop's database, already migrated and seeded). Its pool
 * holds at most as many connections as the shop's catalog service (storage's default `poolMax`).
 * Prints `{"url": ...}` on stdout once listening; stops on SIGTERM or when stdin closes.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { productBody, productColumns, type ProductRow } from "./product-answer.ts";

const prefix = "/api/v1/products/";
const poolMax = 5;

const url = process.env["DATABASE_URL"];
if (!url) throw new Error("DATABASE_URL is required");
const pool = new pg.Pool({ connectionString: url, max: poolMax });
const query = `SELECT ${productColumns} FROM catalog.products WHERE id = $1`;

function notFound(path: string): string {
  return JSON.stringify({
    error: {
      code: "PRODUCT_NOT_FOUND",
      message: "product not found",
      requestId: "",
      timestamp: new Date().toISOString(),
      path,
    },
  });
}

const server = createServer({ keepAliveTimeout: 5_000, noDelay: true }, (req, res) => {
  const send = (status: number, body: string): void => {
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  };
  const path = req.url ?? "/";
  if (req.method !== "GET" || !path.startsWith(prefix)) return send(404, notFound(path));
  let id: string;
  try {
    id = decodeURIComponent(path.slice(prefix.length));
  } catch {
    return send(404, notFound(path)); // a malformed escape names no product
  }
  pool.query<ProductRow>(query, [id]).then(
    ({ rows }) => (rows[0] ? send(200, productBody(rows[0])) : send(404, notFound(path))),
    (error: unknown) => {
      console.error(error);
      send(500, JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }));
    },
  );
});

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  void pool.end().then(() => process.exit(0));
}
process.once("SIGTERM", stop);
process.stdin.once("end", stop).resume();
