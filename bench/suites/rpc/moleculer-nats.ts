/**
 * `moleculer-nats`: Moleculer 0.15 brokers (its defaults: JSON serializer, no metrics, no
 * tracing) calling a `getProduct` action over its NATS transporter, through the real NATS server.
 * The params and the answer are the messages' JSON form. Each run uses its own namespace, so
 * other users of the same NATS server neither see nor disturb it.
 */
import { connect } from "node:net";
import { ServiceBroker } from "moleculer";
import type { RpcContender } from "./contender.ts";
import { checkProductId, productId, requestJson, responseJson } from "./product.ts";

const service = "benchCatalog";
const action = `${service}.getProduct`;

function natsUrl(): string {
  return process.env["NATS_URL"] ?? "nats://127.0.0.1:4222";
}

function broker(namespace: string, role: string): ServiceBroker {
  return new ServiceBroker({
    namespace,
    nodeID: `${namespace}-${role}`,
    transporter: { type: "NATS", options: { url: natsUrl() } },
    logger: false,
  });
}

/** Whether a TCP connection to the NATS server opens within `timeoutMs`. */
function reachable(url: string, timeoutMs: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 4222), timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

export function moleculerNats(): RpcContender {
  return {
    async unavailable() {
      const url = natsUrl();
      return (await reachable(url, 1_000)) ? undefined : `no NATS server at ${url}`;
    },
    async serve() {
      const namespace = `bench-rpc-${process.pid}`;
      const server = broker(namespace, "server");
      server.createService({
        name: service,
        actions: {
          getProduct(ctx: { params: { id?: string } }) {
            if (ctx.params.id !== productId) throw new Error("no such product");
            return responseJson;
          },
        },
      });
      await server.start();
      return { endpoint: namespace, close: () => server.stop() };
    },
    async connect(namespace) {
      const client = broker(namespace, "client");
      await client.start();
      await client.waitForServices(service, 10_000);
      return {
        async call() {
          const answer = await client.call<{ product?: { id?: string } }, typeof requestJson>(
            action,
            requestJson,
          );
          checkProductId(answer.product?.id);
        },
        close: () => client.stop(),
      };
    },
  };
}
