/**
 * Traces of the running shop, black-box. PGlite only (vitest.config.ts): spans come from the
 * pipeline (gateway, RPC, saga steps, outbox, consumers), the same whatever the storage, and two
 * processes per run make it one of the slower files.
 */
import { randomBytes } from "node:crypto";
import { headerServiceToken, mintServiceToken } from "@plexus/rpc";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, signUp } from "../support/http.ts";
import { placeOrder, waitSettled } from "../support/orders.ts";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";

const INTERNAL = 1;
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;
const getProduct = "shop.catalog.v1.CatalogService/GetProduct";
const placeOrderMethod = "shop.orders.v1.OrdersService/PlaceOrder";
const chargeMethod = "shop.payments.v1.PaymentsService/Charge";
const orderConfirmed = "shop.orders.v1.OrderConfirmed";
/** The topology key of `live`, whose RPC port this test calls as a service would. */
const serviceKey = randomBytes(32);

/** A client's own span, as a browser or another system would send it. */
function clientTraceparent() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

/** Started together: `live` exports within 50 ms, `held` only when it stops (a 10 min delay). */
let receiver: OtlpReceiver;
let live: ShopProcess;
let held: ShopProcess;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
  [live, held] = await Promise.all([
    startShop({
      env: {
        ...endpoint,
        OTEL_BSP_SCHEDULE_DELAY: "50",
        PLEXUS_RPC_PORT: "0",
        PLEXUS_SERVICE_KEY: serviceKey.toString("base64url"),
      },
      startTimeoutMs: 110_000,
    }),
    startShop({
      env: { ...endpoint, OTEL_BSP_SCHEDULE_DELAY: "600000" },
      startTimeoutMs: 110_000,
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([live?.stop(), held?.stop()]);
  await Promise.all([live && removeDataDir(live.dataDir), held && removeDataDir(held.dataDir)]);
  await receiver?.close();
});

async function someProductId(shop: ShopProcess): Promise<string> {
  const list = await request(shop.url, "/api/v1/products?limit=1");
  expect(list.status).toBe(200);
  return (list.body.data as { id: string }[])[0]!.id;
}

/** GET /api/v1/products/{id} with a client traceparent; the gateway's own span from its answer. */
async function getProductTraced(shop: ShopProcess) {
  const client = clientTraceparent();
  const reply = await request(shop.url, `/api/v1/products/${await someProductId(shop)}`, {
    headers: { traceparent: client.header },
  });
  expect(reply.status).toBe(200);
  const [, traceId, gatewaySpanId] = (reply.headers.get("traceparent") ?? "").split("-");
  expect(traceId).toBe(client.traceId);
  return { client, gatewaySpanId: gatewaySpanId! };
}

/** The gateway SERVER span → gateway CLIENT span → catalog SERVER span of one trace, if all arrived. */
function productChain(spans: ReceivedSpan[], traceId: string) {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const edge = inTrace.find((s) => s.kind === SERVER && s.name === "GET /api/v1/products/:id");
  const call = inTrace.find((s) => s.kind === CLIENT && s.name === getProduct);
  const handled = inTrace.find((s) => s.kind === SERVER && s.name === getProduct);
  return edge && call && handled ? { edge, call, handled } : undefined;
}

describe("traces of the running shop (plexus up, OTLP/HTTP)", () => {
  it("continues the client's trace through the gateway into the catalog service", async () => {
    const { client, gatewaySpanId } = await getProductTraced(live);
    const { edge, call, handled } = await receiver.waitFor(
      (spans) => productChain(spans, client.traceId),
      15_000,
    );

    expect(edge.serviceName).toBe("shop");
    expect(edge.parentSpanId).toBe(client.spanId);
    expect(edge.spanId).toBe(gatewaySpanId);
    expect(edge.attributes).toMatchObject({
      "http.request.method": "GET",
      "http.route": "/api/v1/products/:id",
      "http.response.status_code": 200,
    });
    expect(call.parentSpanId).toBe(edge.spanId);
    expect(call.attributes).toMatchObject({
      "rpc.system.name": "connectrpc",
      "rpc.method": getProduct,
    });
    expect(handled.parentSpanId).toBe(call.spanId);
  });

  it("records calls its Connect server handles under the caller's trace", async () => {
    const client = clientTraceparent();
    const id = await someProductId(live);
    const reply = await fetch(`${live.rpcUrl}/${getProduct}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: client.header,
        [headerServiceToken]: mintServiceToken({
          key: serviceKey,
          caller: "tracing-test",
          callee: getProduct.split("/")[0]!,
        }),
      },
      body: JSON.stringify({ id }),
    });
    expect(reply.status).toBe(200);
    const handled = await receiver.waitFor(
      (spans) => spans.find((s) => s.traceId === client.traceId && s.kind === SERVER),
      15_000,
    );
    expect(handled).toMatchObject({ name: getProduct, parentSpanId: client.spanId });
  });

  it("records the card provider request as an HTTP client span under the payments call", async () => {
    const { token } = await signUp(live.url);
    const productId = await someProductId(live);
    const order = await placeOrder(live.url, token, [{ productId, quantity: 1 }], "tok_visa");
    expect((await waitSettled(live.url, token, order.id)).status).toBe("CONFIRMED");

    const { upstream, charge } = await receiver.waitFor((spans) => {
      for (const upstream of spans) {
        if (upstream.attributes["service.peer.name"] !== "card-provider") continue;
        const charge = spans.find((s) => s.spanId === upstream.parentSpanId);
        if (charge !== undefined) return { upstream, charge };
      }
      return undefined;
    }, 15_000);
    expect(upstream).toMatchObject({ kind: CLIENT, name: "POST", traceId: charge.traceId });
    expect(upstream.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.response.status_code": expect.any(Number),
    });
    expect(charge).toMatchObject({ kind: SERVER, name: "shop.payments.v1.PaymentsService/Charge" });
  });

  it("follows an order in one trace: gateway, PlaceOrder, its saga's steps, its events", async () => {
    const { token } = await signUp(live.url);
    const productId = await someProductId(live);
    const order = await placeOrder(live.url, token, [{ productId, quantity: 1 }], "tok_visa");
    expect((await waitSettled(live.url, token, order.id)).status).toBe("CONFIRMED");

    const found = await receiver.waitFor((spans) => {
      const step = spans.find(
        (s) =>
          s.attributes["plexus.saga.id"] === order.id &&
          s.attributes["plexus.saga.step"] === "charge" &&
          s.attributes["plexus.saga.outcome"] === "SUCCEEDED",
      );
      if (step === undefined) return undefined;
      const trace = spans.filter((s) => s.traceId === step.traceId);
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      const parentOf = (span: ReceivedSpan | undefined) =>
        span?.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId);
      const handled = parentOf(step);
      const placeCall = parentOf(handled);
      const edge = parentOf(placeCall);
      const charged = trace.find((s) => s.kind === SERVER && s.name === chargeMethod);
      const chargeCall = parentOf(charged);
      const consumed = trace.find(
        (s) =>
          s.kind === CONSUMER &&
          s.attributes["messaging.destination.name"] === orderConfirmed &&
          s.attributes["messaging.consumer.group.name"] === "notifications.order-outcomes",
      );
      const published = parentOf(consumed);
      if (!edge || !charged || !chargeCall || !consumed || !published) return undefined;
      return { step, handled, placeCall, edge, charged, chargeCall, consumed, published };
    }, 15_000);
    const { step, handled, placeCall, edge, charged, chargeCall, consumed, published } = found;

    // gateway SERVER → gateway CLIENT → orders SERVER PlaceOrder → saga step → Charge
    expect(edge).toMatchObject({ kind: SERVER, name: "POST /api/v1/orders" });
    expect(edge.parentSpanId).toBeUndefined();
    expect(placeCall).toMatchObject({ kind: CLIENT, name: placeOrderMethod });
    expect(handled).toMatchObject({ kind: SERVER, name: placeOrderMethod });
    expect(step).toMatchObject({ kind: INTERNAL, name: "place-order/charge action" });
    expect(step.attributes).toMatchObject({
      "plexus.saga.type": "place-order",
      "plexus.saga.phase": "action",
      "plexus.saga.attempt": 1,
    });
    expect(chargeCall).toMatchObject({ kind: CLIENT, name: chargeMethod });
    expect(chargeCall.parentSpanId).toBe(step.spanId);
    expect(charged.serviceName).toBe("shop");

    // The saga's completion wrote OrderConfirmed under PlaceOrder's span: published, then
    // processed by the notifications service.
    expect(published).toMatchObject({ kind: PRODUCER, name: `publish ${orderConfirmed}` });
    expect(published.parentSpanId).toBe(handled!.spanId);
    expect(published.attributes).toMatchObject({
      "messaging.system.name": "plexus-memory",
      "messaging.operation.type": "send",
      "messaging.message.id": `${order.id}.confirmed`,
      "cloudevents.event_subject": order.id,
    });
    expect(consumed).toMatchObject({ kind: CONSUMER, name: `process ${orderConfirmed}` });
    expect(consumed.attributes).toMatchObject({
      "messaging.system.name": "plexus-memory",
      "messaging.message.id": `${order.id}.confirmed`,
      "plexus.delivery.attempt": 1,
      "plexus.delivery.outcome": "processed",
    });
  });

  it("loses no span at a graceful stop: the last request's spans arrive with the shutdown flush", async () => {
    const { client } = await getProductTraced(held);
    // Held back by the 10 minute batch delay until the stop.
    expect(productChain(receiver.spans(), client.traceId)).toBeUndefined();

    expect(await held.stop()).toBe(0);

    // The process exported before it exited: the spans are here without waiting.
    const chain = productChain(receiver.spans(), client.traceId);
    expect(chain?.edge.parentSpanId).toBe(client.spanId);
    expect(chain?.handled.parentSpanId).toBe(chain?.call.spanId);
  });
});
