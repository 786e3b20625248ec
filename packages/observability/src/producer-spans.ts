import { context, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import {
  parseTraceparent,
  type CallHandler,
  type CloudEvent,
  type TraceParent,
} from "@plexus/core";
import { startAdoptedSpan } from "./adopted-span.ts";
import { messagingSpan } from "./messaging-span.ts";
import { markFailed } from "./span-failure.ts";
import type { Tracing } from "./tracing.ts";

/**
 * One publish of an outbox row as the relay tells it (structurally, `@plexus/messaging`'s
 * `PublishCall`: this package knows no messaging runtime).
 */
export interface EventPublish {
  /** The event as stored: its `traceparent` names the span that wrote it. */
  readonly event: CloudEvent;
  /** The ids the published envelope names as its `traceparent`: the span is recorded under them. */
  readonly trace: TraceParent;
  /** The broker's kind (`memory`, `nats`, `rabbitmq`). */
  readonly broker: string;
}

/**
 * A publish interceptor (`@plexus/messaging`'s `PublishInterceptor`, whose call is an
 * {@link EventPublish}): generic in the call, so it fits the relay's own call type.
 */
export type EventPublishInterceptor = <C extends EventPublish>(
  next: CallHandler<C, void>,
) => CallHandler<C, void>;

/**
 * The interceptor the outbox relay runs each publish through (`createOutbox({ interceptors })`;
 * the host passes it to every service's outbox): a PRODUCER span `publish <event type>` per publish,
 * recorded under the ids the published envelope carries as `traceparent` — so every consumer's
 * span hangs under it — and parented on the span that wrote the event (the stored event's
 * `traceparent`). A trace reads: the handler that wrote the event → PRODUCER `publish` →
 * CONSUMER `process` in each consumer group → the consumers' own calls. The span starts when
 * the relay publishes, not when the row was written: the gap after its parent is the outbox lag.
 * ERROR with `error.type` (the Plexus code) when the broker refuses the event; the relay then
 * retries, and each retry is a PRODUCER span of its own. Attributes after OpenTelemetry's
 * messaging conventions (see `messagingSpan`). A pass-through with tracing off, so the relay
 * publishes stored events as they are and allocates nothing per publish.
 *
 * @example
 * const outbox = createOutbox({ db, broker, interceptors: [producerSpans(tracing)] });
 */
export function producerSpans(tracing: Tracing): EventPublishInterceptor {
  if (!tracing.enabled) return (next) => next;
  return (next) =>
    async function tracePublish(call) {
      const { name, attributes } = messagingSpan("publish", call.event, call.broker);
      const parent = parseTraceparent(call.event.traceparent);
      const span = startAdoptedSpan(
        tracing,
        SpanKind.PRODUCER,
        name,
        attributes,
        call.trace,
        parent,
      );
      try {
        await context.with(trace.setSpan(ROOT_CONTEXT, span), next, undefined, call);
      } catch (error) {
        markFailed(span, error);
        throw error;
      } finally {
        span.end();
      }
    };
}
