/**
 * `moleculer-local`: a Moleculer 0.15 local action call — one broker with its defaults (no
 * transporter, JSON serializer unused in process, no metrics, no tracing; logging off as in
 * `moleculer-nats`) calling its own `getProduct` action. The params and the answer are the
 * messages' JSON form, passed by reference (Moleculer does not copy them in process).
 */
import { ServiceBroker } from "moleculer";
import type { LocalRpcContender } from "./contender.ts";
import { checkProductId, productId, requestJson, responseJson } from "./product.ts";

const service = "benchCatalog";
const action = `${service}.getProduct`;

export function moleculerLocal(): LocalRpcContender {
  return {
    async start() {
      const broker = new ServiceBroker({ nodeID: `bench-local-${process.pid}`, logger: false });
      broker.createService({
        name: service,
        actions: {
          getProduct(ctx: { params: { id?: string } }) {
            if (ctx.params.id !== productId) throw new Error("no such product");
            return responseJson;
          },
        },
      });
      await broker.start();
      return {
        async call() {
          const answer = await broker.call<{ product?: { id?: string } }, typeof requestJson>(
            action,
            requestJson,
          );
          checkProductId(answer.product?.id);
        },
        close: () => broker.stop(),
      };
    },
  };
}
