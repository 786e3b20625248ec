import { systemClock, type Clock } from "@plexus/core";
import type { EventDeliveryInterceptor } from "./consumer-spans.ts";
import type { Metrics } from "./metrics.ts";

/**
 * A delivery interceptor recording each delivery (and replay) per consumer group: its outcome
 * (`processed`, `duplicate`, or `failed` when the handler threw) and its queue lag, the delivery's
 * start minus the event's `time`. Place it outermost, so the lag is read before anything else runs.
 *
 * @example
 * createConsumerRuntime({ service, db, broker, consumers, interceptors: [deliveryMetrics(metrics)] });
 */
export function deliveryMetrics(
  metrics: Metrics,
  /** Time source of the lag. Default `systemClock`. */
  clock: Clock = systemClock,
): EventDeliveryInterceptor {
  return (next) =>
    async function recordDelivery(call) {
      const lagMs = clock.now() - Date.parse(call.event.time);
      let outcome = "failed";
      try {
        const result = await next(call);
        outcome = result;
        return result;
      } finally {
        metrics.observeDelivery({ group: call.delivery.group, outcome, lagMs });
      }
    };
}
