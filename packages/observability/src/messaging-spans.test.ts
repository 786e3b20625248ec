import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  Code,
  PlexusError,
  childTraceparent,
  formatTraceparent,
  parseTraceparent,
  type CloudEvent,
  type TraceParent,
} from "@plexus/core";
import { describe, expect, it } from "vitest";
import { useTestTracing } from "./test-tracing.ts";
import { createTracing } from "./tracing.ts";
import { withClientSpan } from "./client-span.ts";
import { consumerSpans, type EventDelivery } from "./consumer-spans.ts";
import { producerSpans } from "./producer-spans.ts";

/** The span that wrote the event (a handler's SERVER span), as the event names it. */
const writer = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")!;

function orderConfirmed(traceparent: TraceParent = writer): CloudEvent {
  return {
    specversion: "1.0",
    id: "o-1.confirmed",
    source: "/orders",
    type: "shop.orders.v1.OrderConfirmed",
    time: "2026-05-01T00:00:00.000Z",
    subject: "o-1",
    datacontenttype: "application/json",
    dataschema: "urn:plexus:protobuf:shop.orders.v1.OrderConfirmed",
    data: { orderId: "o-1" },
    traceparent: formatTraceparent(traceparent),
    correlationid: "corr-1",
  };
}

const traced = useTestTracing("shop");

/** What the relay does around a publish: the event goes out naming the publish's own span. */
async function publish(stored: CloudEvent): Promise<CloudEvent> {
  const call = {
    event: stored,
    trace: childTraceparent(parseTraceparent(stored.traceparent)),
    broker: "memory",
  };
  let sent: CloudEvent | undefined;
  await producerSpans(traced.tracing)(async (published: typeof call) => {
    sent = { ...stored, traceparent: formatTraceparent(published.trace) };
  })(call);
  return sent!;
}

/** What the consumer runtime tells the wrapper of the delivery of `event` (attempt 1 of 2). */
function delivery(event: CloudEvent, attempt = 1): EventDelivery {
  return {
    event,
    delivery: { group: "notifications.order-outcome", attempt },
    trace: childTraceparent(parseTraceparent(event.traceparent)),
    broker: "memory",
    deadLetters: (error) =>
      attempt >= 2 || (error instanceof PlexusError && error.code === Code.InvalidArgument),
  };
}

describe("producerSpans and consumerSpans", () => {
  it("chain writer → PRODUCER publish → CONSUMER process → the handler's calls", async () => {
    const received = await publish(orderConfirmed());
    const call = delivery(received);
    const outcome = await consumerSpans(traced.tracing)(async () => {
      // A call the handler makes, placed under the active span as the RPC client does.
      await withClientSpan(
        traced.tracing,
        "shop.users.v1.UsersService/GetUser",
        {},
        async () => {},
      );
      return "processed" as const;
    })(call);
    expect(outcome).toBe("processed");

    const spans = await traced.finished();
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER)!;
    const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER)!;
    const client = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(producer.name).toBe("publish shop.orders.v1.OrderConfirmed");
    expect(producer.spanContext()).toMatchObject({
      traceId: writer.traceId,
      spanId: parseTraceparent(received.traceparent)?.spanId,
    });
    expect(producer.parentSpanContext?.spanId).toBe(writer.spanId);
    expect(producer.attributes).toEqual({
      "messaging.system.name": "plexus-memory",
      "messaging.operation.name": "publish",
      "messaging.operation.type": "send",
      "messaging.destination.name": "shop.orders.v1.OrderConfirmed",
      "messaging.message.id": "o-1.confirmed",
      "messaging.message.conversation_id": "corr-1",
      "cloudevents.event_source": "/orders",
      "cloudevents.event_subject": "o-1",
    });

    expect(consumer.name).toBe("process shop.orders.v1.OrderConfirmed");
    expect(consumer.spanContext()).toMatchObject({
      traceId: writer.traceId,
      spanId: call.trace.spanId,
    });
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.attributes).toMatchObject({
      "messaging.system.name": "plexus-memory",
      "messaging.operation.name": "process",
      "messaging.operation.type": "process",
      "messaging.destination.name": "shop.orders.v1.OrderConfirmed",
      "messaging.consumer.group.name": "notifications.order-outcome",
      "messaging.message.id": "o-1.confirmed",
      "plexus.delivery.attempt": 1,
      "plexus.delivery.outcome": "processed",
    });
    expect(consumer.status.code).toBe(SpanStatusCode.UNSET);
    expect(client.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);
  });

  it("names the broker's own system for the network brokers", async () => {
    const stored = orderConfirmed();
    const publish = producerSpans(traced.tracing)(async () => {});
    await publish({ event: stored, trace: childTraceparent(writer), broker: "nats" });
    await publish({ event: stored, trace: childTraceparent(writer), broker: "rabbitmq" });
    expect((await traced.finished()).map((s) => s.attributes["messaging.system.name"])).toEqual([
      "nats",
      "rabbitmq",
    ]);
  });

  it("marks a publish the broker refused ERROR", async () => {
    const refused = new PlexusError(Code.Unavailable, "broker down");
    const call = { event: orderConfirmed(), trace: childTraceparent(writer), broker: "memory" };
    await expect(
      producerSpans(traced.tracing)(async () => Promise.reject(refused))(call),
    ).rejects.toBe(refused);
    const [span] = await traced.finished();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "broker down" });
    expect(span?.attributes["error.type"]).toBe("unavailable");
  });

  it("marks a failing handler ERROR, with a dead-letter event when the failure parks it", async () => {
    const event = orderConfirmed();
    const failing = (error: PlexusError) =>
      consumerSpans(traced.tracing)(() => Promise.reject<string>(error));
    const down = new PlexusError(Code.Unavailable, "mail server down");
    await expect(failing(down)(delivery(event, 1))).rejects.toBe(down);
    await expect(failing(down)(delivery(event, 2))).rejects.toBe(down);
    const unusable = new PlexusError(Code.InvalidArgument, "data does not decode");
    await expect(failing(unusable)(delivery(event, 1))).rejects.toBe(unusable);

    const [retried, last, poison] = await traced.finished();
    for (const span of [retried, last, poison]) {
      expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    }
    expect(retried?.attributes["error.type"]).toBe("unavailable");
    expect(retried?.events).toEqual([]);
    expect(last?.attributes["plexus.delivery.attempt"]).toBe(2);
    expect(last?.events.map((e) => [e.name, e.attributes])).toEqual([
      ["plexus.dead_letter", { "plexus.dead_letter.reason": "mail server down" }],
    ]);
    expect(poison?.attributes["error.type"]).toBe("invalid_argument");
    expect(poison?.events.map((e) => e.name)).toEqual(["plexus.dead_letter"]);
  });

  it("records a duplicate delivery as such", async () => {
    await consumerSpans(traced.tracing)(async () => "duplicate" as const)(
      delivery(orderConfirmed()),
    );
    const [span] = await traced.finished();
    expect(span?.attributes["plexus.delivery.outcome"]).toBe("duplicate");
  });

  it("records nothing of a trace its writer left unsampled", async () => {
    const unsampled = { ...writer, flags: "00" };
    const received = await publish(orderConfirmed(unsampled));
    expect(parseTraceparent(received.traceparent)?.flags).toBe("00");
    await consumerSpans(traced.tracing)(async () => "processed" as const)(delivery(received));
    expect(await traced.finished()).toEqual([]);
  });

  it("passes through with tracing off: the chain is the inner handler itself", async () => {
    const off = await createTracing({ serviceName: "shop", env: {} });
    const publish = async (): Promise<void> => {};
    const handle = async (): Promise<string> => "processed";
    expect(producerSpans(off)(publish)).toBe(publish);
    expect(consumerSpans(off)(handle)).toBe(handle);
  });
});
