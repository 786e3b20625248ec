import { Code, PlexusError, childTraceparent, type CloudEvent } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import type { EventDelivery } from "./consumer-spans.ts";
import { deliveryMetrics } from "./delivery-metrics.ts";
import { httpUpstreamMetrics } from "./http-upstream-metrics.ts";
import { createMetrics } from "./metrics.ts";

const event: CloudEvent = {
  specversion: "1.0",
  id: "o-1.confirmed",
  source: "/orders",
  type: "shop.orders.v1.OrderConfirmed",
  time: "2026-05-01T00:00:00.000Z",
  datacontenttype: "application/json",
  dataschema: "urn:plexus:protobuf:shop.orders.v1.OrderConfirmed",
  data: {},
};

function delivery(attempt: number): EventDelivery {
  return {
    event,
    delivery: { group: "notifications.order-outcome", attempt },
    trace: childTraceparent(undefined),
    broker: "memory",
    deadLetters: () => false,
  };
}

describe("deliveryMetrics", () => {
  it("counts each delivery per group and outcome, failures included, with its lag", async () => {
    const metrics = createMetrics({ processMetrics: false });
    // Two seconds after the event's time.
    const clock = createFakeClock(Date.parse(event.time) + 2_000);
    const record = deliveryMetrics(metrics, clock);
    await record(async () => "processed")(delivery(1));
    await record(async () => "duplicate")(delivery(2));
    const down = new PlexusError(Code.Unavailable, "down");
    await expect(record(() => Promise.reject<string>(down))(delivery(3))).rejects.toBe(down);

    const { body } = await metrics.render();
    for (const outcome of ["processed", "duplicate", "failed"]) {
      expect(body).toContain(
        `plexus_event_deliveries_total{group="notifications.order-outcome",outcome="${outcome}"} 1`,
      );
    }
    expect(body).toContain('plexus_event_lag_seconds_sum{group="notifications.order-outcome"} 6');
  });
});

describe("httpUpstreamMetrics", () => {
  it("counts requests in the outgoing-call series, by operation else method", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const record = httpUpstreamMetrics(metrics, "payments");
    const charge = { upstream: "card-provider", method: "POST", operation: "charge" };
    const list = { upstream: "card-provider", method: "GET", operation: undefined };
    // A 4xx the upstream meant as an answer is returned, hence `ok`.
    await record(async () => ({ status: 402 }))(charge);
    await expect(
      record(() => Promise.reject(new PlexusError(Code.Unavailable, "HTTP 503")))(list),
    ).rejects.toThrow("HTTP 503");

    const { body } = await metrics.render();
    expect(body).toContain(
      'plexus_rpc_client_calls_total{caller="payments",callee="card-provider",method="charge",code="ok"} 1',
    );
    expect(body).toContain(
      'plexus_rpc_client_calls_total{caller="payments",callee="card-provider",method="GET",code="unavailable"} 1',
    );
  });
});
