/**
 * `raw-undici`, the baseline: what a call costs with no framework at all — a `node:http` server
 * and an undici `Pool`, `POST /shop.catalog.v1.CatalogService/GetProduct` with the messages'
 * JSON form through `JSON.parse`/`JSON.stringify`.
 */
import { createServer } from "node:http";
import { Pool } from "undici";
import type { RpcContender } from "./contender.ts";
import { closeServer, listenOnLoopback } from "./listen.ts";
import { checkProductId, productId, requestJson, responseJson } from "./product.ts";

const path = "/shop.catalog.v1.CatalogService/GetProduct";

export function rawUndici(options: { connections: number }): RpcContender {
  return {
    async serve() {
      const server = createServer({ keepAliveTimeout: 5_000, noDelay: true }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id?: string };
          if (req.method !== "POST" || req.url !== path || id !== productId) {
            res.writeHead(404).end();
            return;
          }
          const body = JSON.stringify(responseJson);
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          });
          res.end(body);
        });
      });
      const endpoint = await listenOnLoopback(server);
      return { endpoint, close: () => closeServer(server) };
    },
    async connect(endpoint) {
      const pool = new Pool(endpoint, { connections: options.connections });
      return {
        async call() {
          const response = await pool.request({
            path,
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(requestJson),
          });
          const answer = (await response.body.json()) as { product?: { id?: string } };
          if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
          checkProductId(answer.product?.id);
        },
        close: () => pool.close(),
      };
    },
  };
}
