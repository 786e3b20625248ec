import type { Clock } from "@plexus/core";
import { resilienceSpanEvents, type Metrics } from "@plexus/observability";
import {
  createClientResilience,
  type CircuitState,
  type ClientResilience,
  type ClientResilienceOptions,
} from "@plexus/resilience";

const gaugeState = {
  closed: "closed",
  "half-open": "half-open",
  open: "open",
  "forced-open": "open",
  disabled: "closed",
  "metrics-only": "closed",
} as const satisfies Record<CircuitState, string>;

/**
 * The one client pipeline state of a host: every outgoing call — RPC clients and HTTP upstreams
 * alike, whoever the caller — shares its callee's breaker, bulkhead and retry budget, as they
 * share the callee's capacity. The policies' events feed the host's metrics (circuit state,
 * retries, rejections) and the call's span (as events, when tracing: see `resilienceSpanEvents`),
 * then the topology's own hooks.
 */
export function createHostResilience(options: {
  clock: Clock;
  metrics: Metrics;
  /** Per-callee and per-method policies over Plexus's defaults (`HostSpec.resilience`). */
  policies?: ClientResilienceOptions;
}): ClientResilience {
  const { metrics, policies } = options;
  const spanEvents = resilienceSpanEvents();
  return createClientResilience({
    ...policies,
    clock: options.clock,
    onStateChange(event) {
      metrics.setCircuitState(event.callee, gaugeState[event.to]);
      spanEvents.onStateChange(event);
      policies?.onStateChange?.(event);
    },
    onRetry(event) {
      metrics.countRetry(event.callee, event.hedge ? "hedge" : "retry");
      spanEvents.onRetry(event);
      policies?.onRetry?.(event);
    },
    onReject(event) {
      metrics.countRejection(event.callee, event.policy, event.reason);
      spanEvents.onReject(event);
      policies?.onReject?.(event);
    },
  });
}
