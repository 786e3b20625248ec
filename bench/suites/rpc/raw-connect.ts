/**
 * `raw-connect`: the stock Connect stack, `@connectrpc/connect-node`'s `connectNodeAdapter` on a
 * `node:http` server and its Connect transport (HTTP/1.1 keep-alive, binary protobuf), no
 * interceptors.
 */
import { Agent, createServer } from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import type { RpcContender } from "./contender.ts";
import { closeServer, listenOnLoopback } from "./listen.ts";
import { CatalogService, checkProductId, productId, request, response } from "./product.ts";

export function rawConnect(options: { connections: number }): RpcContender {
  return {
    async serve() {
      const handler = connectNodeAdapter({
        routes(router) {
          router.service(CatalogService, {
            async getProduct({ id }) {
              if (id !== productId) throw new ConnectError("no such product", Code.NotFound);
              return response;
            },
          });
        },
      });
      // node:http's Agent ignores the server's keep-alive hint: a socket the server closes while
      // the other contenders' samples run would be reused and reset. Idle sockets stay open.
      const server = createServer({ keepAliveTimeout: 120_000, noDelay: true }, handler);
      const endpoint = await listenOnLoopback(server);
      return { endpoint, close: () => closeServer(server) };
    },
    async connect(endpoint) {
      const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
      const client = createClient(
        CatalogService,
        createConnectTransport({
          baseUrl: endpoint,
          httpVersion: "1.1",
          useBinaryFormat: true,
          nodeOptions: { agent },
        }),
      );
      return {
        async call() {
          const { product } = await client.getProduct(request);
          checkProductId(product?.id);
        },
        async close() {
          agent.destroy();
        },
      };
    },
  };
}
