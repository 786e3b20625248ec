import { context, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import {
  parseTraceparent,
  PlexusError,
  type CallHandler,
  type CloudEvent,
  type TraceParent,
} from "@plexus/core";
import { startAdoptedSpan } from "./adopted-span.ts";
import { messagingSpan } from "./messaging-span.ts";
import { markFailed } from "./span-failure.ts";
import type { Tracing } from "./tracing.ts";

/**
 * One delivery as the consumer runtime tells it (structurally, `@plexus/messaging`'s
 * `DeliveryCall`: this package knows no messaging runtime).
 */
export interface EventDelivery {
  readonly event: CloudEvent;
  readonly delivery: {
    /** The consumer group. */
    readonly group: string;
    /** 1 for the first delivery, 2 for the first redelivery, … */
    readonly attempt: number;
  };
  /** The handler's own span (its context's `trace`): the span is recorded under these ids. */
  readonly trace: TraceParent;
  /** The broker's kind (`memory`, `nats`, `rabbitmq`). */
  readonly broker: string;
  /** Whether the handler failing with `error` sends the event to the dead-letter store. */
  deadLetters(error: unknown): boolean;
}

/**
 * A delivery interceptor (`@plexus/messaging`'s `DeliveryInterceptor`, whose call is an
 * {@link EventDelivery} and whose result is the outcome's name): generic in both, so it fits the
 * runtime's own types.
 */
export type EventDeliveryInterceptor = <C extends EventDelivery, O extends string>(
  next: CallHandler<C, O>,
) => CallHandler<C, O>;

/**
 * The interceptor the consumer runtime runs each delivery through (`createConsumerRuntime({
 * interceptors })`; the host passes it to every service's runtime): a CONSUMER span
 * `process <event type>` per delivery (and per replay of a dead letter), recorded under the
 * handler's own ids and parented on the span the event names as its `traceparent` — the
 * relay's PRODUCER span — and active while the handler runs, so the handler's calls are its
 * children. Besides the messaging attributes (see `messagingSpan`): `messaging.consumer.group.name`,
 * `plexus.delivery.attempt` (1 for the first delivery; no semconv attribute is generic) and
 * `plexus.delivery.outcome` (`processed`, or `duplicate` when the inbox had already applied it).
 * A failing handler makes it ERROR (`error.type`, the Plexus code); when that failure sends the
 * event to the dead-letter store (the last delivery, or an unusable event) the span gets a
 * `plexus.dead_letter` event with `plexus.dead_letter.reason`. A pass-through with tracing off.
 *
 * @example
 * const runtime = createConsumerRuntime({ service, db, broker, consumers, interceptors: [consumerSpans(tracing)] });
 */
export function consumerSpans(tracing: Tracing): EventDeliveryInterceptor {
  if (!tracing.enabled) return (next) => next;
  return (next) =>
    function traceDelivery(call) {
      const { name, attributes } = messagingSpan("process", call.event, call.broker);
      attributes["messaging.consumer.group.name"] = call.delivery.group;
      attributes["plexus.delivery.attempt"] = call.delivery.attempt;
      const parent = parseTraceparent(call.event.traceparent);
      const span = startAdoptedSpan(
        tracing,
        SpanKind.CONSUMER,
        name,
        attributes,
        call.trace,
        parent,
      );
      return context.with(trace.setSpan(ROOT_CONTEXT, span), async function handleInSpan() {
        try {
          const outcome = await next(call);
          span.setAttribute("plexus.delivery.outcome", outcome);
          return outcome;
        } catch (error) {
          markFailed(span, error);
          if (call.deadLetters(error)) {
            span.addEvent("plexus.dead_letter", {
              "plexus.dead_letter.reason": PlexusError.from(error).message,
            });
          }
          throw error;
        } finally {
          span.end();
        }
      });
    };
}
