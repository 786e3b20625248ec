import { describe, expect, it } from "vitest";
import { OVERFLOW_LABEL, createMetrics } from "./index.ts";

describe("createMetrics", () => {
  it("renders request counts and durations by route template in Prometheus text format", async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.observeHttpRequest({
      method: "get",
      route: "/api/v1/users/:id",
      status: 200,
      durationMs: 12,
    });
    metrics.observeHttpRequest({
      method: "GET",
      route: "/api/v1/users/:id",
      status: 200,
      durationMs: 3,
    });
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain(
      'plexus_http_requests_total{method="GET",route="/api/v1/users/:id",status="200"} 2',
    );
    expect(body).toContain(
      'plexus_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/users/:id",status="200"} 1',
    );
  });

  it("keeps registries apart and includes process metrics by default", async () => {
    const a = createMetrics();
    const b = createMetrics({ prefix: "other_", processMetrics: false });
    a.observeHttpRequest({ method: "GET", route: "/a", status: 200, durationMs: 1 });
    const bodyA = (await a.render()).body;
    const bodyB = (await b.render()).body;
    expect(bodyA).toContain("plexus_process_cpu_user_seconds_total");
    expect(bodyA).toContain('route="/a"');
    expect(bodyB).not.toContain('route="/a"');
    expect(bodyB).not.toContain("process_cpu");
  });

  it("records rpc client calls and circuit state", async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.observeRpcClientCall({
      caller: "orders",
      callee: "payments",
      method: "Charge",
      code: "unavailable",
      durationMs: 40,
    });
    metrics.readCircuitStates(() => [["payments", "open"]]);
    const { body } = await metrics.render();
    expect(body).toContain(
      'plexus_rpc_client_calls_total{caller="orders",callee="payments",method="Charge",code="unavailable"} 1',
    );
    expect(body).toContain('plexus_circuit_state{callee="payments"} 2');
  });

  it("reads every breaker's state at each scrape, closed ones included", async () => {
    const metrics = createMetrics({ processMetrics: false });
    let states: [string, "closed" | "half-open" | "open"][] = [["catalog", "closed"]];
    metrics.readCircuitStates(() => states);
    expect((await metrics.render()).body).toContain('plexus_circuit_state{callee="catalog"} 0');
    states = [["catalog", "half-open"]];
    expect((await metrics.render()).body).toContain('plexus_circuit_state{callee="catalog"} 1');
  });

  it("bounds label cardinality: unknown methods fold to OTHER, excess routes to __other__", async () => {
    const metrics = createMetrics({ processMetrics: false, maxLabelValues: 3 });
    for (let i = 0; i < 10; i++) {
      metrics.observeHttpRequest({ method: `X${i}`, route: `/r${i}`, status: 200, durationMs: 1 });
    }
    metrics.observeHttpRequest({ method: "GET", route: "/r0", status: 999, durationMs: 1 });
    const { body } = await metrics.render();
    const series = body.split("\n").filter((l) => l.startsWith("plexus_http_requests_total{"));
    expect(series).toEqual([
      'plexus_http_requests_total{method="OTHER",route="/r0",status="200"} 1',
      'plexus_http_requests_total{method="OTHER",route="/r1",status="200"} 1',
      'plexus_http_requests_total{method="OTHER",route="/r2",status="200"} 1',
      `plexus_http_requests_total{method="OTHER",route="${OVERFLOW_LABEL}",status="200"} 7`,
      'plexus_http_requests_total{method="GET",route="/r0",status="other"} 1',
    ]);
  });
});

describe("event metrics", () => {
  it("counts deliveries by group and outcome, their lag, and dead letters", async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.observeDelivery({
      group: "notifications.order-outcomes",
      outcome: "processed",
      lagMs: 12,
    });
    metrics.observeDelivery({
      group: "notifications.order-outcomes",
      outcome: "duplicate",
      lagMs: -5,
    });
    metrics.countDeadLetter("notifications.order-outcomes");
    const { body } = await metrics.render();
    expect(body).toContain(
      'plexus_event_deliveries_total{group="notifications.order-outcomes",outcome="processed"} 1',
    );
    expect(body).toContain(
      'plexus_event_lag_seconds_count{group="notifications.order-outcomes"} 2',
    );
    expect(body).toContain('plexus_dead_letters_total{group="notifications.order-outcomes"} 1');
  });
});

describe("projection metrics", () => {
  it("reads each projection's lag at each scrape and counts its failures", async () => {
    const metrics = createMetrics({ processMetrics: false });
    let lag = 0;
    metrics.readProjectionLags(async () => [["orders.order-history", lag]]);
    expect((await metrics.render()).body).toContain(
      'plexus_projection_lag_events{projection="orders.order-history"} 0',
    );
    lag = 7;
    metrics.countProjectionFailure("orders.order-history");
    metrics.countProjectionFailure("orders.order-history");
    const { body } = await metrics.render();
    expect(body).toContain('plexus_projection_lag_events{projection="orders.order-history"} 7');
    expect(body).toContain('plexus_projection_failures_total{projection="orders.order-history"} 2');
  });
});

describe("resilience metrics", () => {
  it("counts retries and rejections per callee", async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.countRetry("shop.payments.v1.PaymentsService", "retry");
    metrics.countRejection("shop.payments.v1.PaymentsService", "circuit-breaker", "open");
    const { body } = await metrics.render();
    expect(body).toContain(
      'plexus_rpc_client_retries_total{callee="shop.payments.v1.PaymentsService",kind="retry"} 1',
    );
    expect(body).toContain(
      'plexus_rpc_client_rejections_total{callee="shop.payments.v1.PaymentsService",policy="circuit-breaker",reason="open"} 1',
    );
  });
});
