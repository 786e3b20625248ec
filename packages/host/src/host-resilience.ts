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
 * share the callee's capacity. The host's metrics read the breakers' states at each scrape; the
 * policies' retries and rejections are counted and added to the call's span (as events, when
 * tracing: see `resilienceSpanEvents`), then passed to the topology's own hooks.
 */
export function createHostResilience(options: {
  clock: Clock;
  metrics: Metrics;
  /** Per-callee and per-method policies over Plexus's defaults (`HostSpec.resilience`). */
  policies?: ClientResilienceOptions;
}): ClientResilience {
  const { metrics, policies } = options;
  const spanEvents = resilienceSpanEvents();
  const resilience = createClientResilience({
    ...policies,
    clock: options.clock,
    onStateChange(event) {
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
  // The circuit gauge is read from the breakers at each scrape: every callee called so far shows,
  // closed ones included, and no state is kept twice.
  metrics.readCircuitStates(function* circuitStates() {
    for (const { callee, circuit } of resilience.snapshot()) {
      if (circuit !== undefined) yield [callee, gaugeState[circuit.state]] as const;
    }
  });
  return resilience;
}
