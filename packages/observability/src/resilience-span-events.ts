import { trace, type Attributes } from "@opentelemetry/api";
import type { ClientResilienceOptions } from "@plexus/resilience";

/** The hooks of `createClientResilience` that {@link resilienceSpanEvents} fills. */
export type ResilienceSpanEventHooks = Required<
  Pick<ClientResilienceOptions, "onRetry" | "onReject" | "onStateChange">
>;

function addEvent(name: string, attributes: Attributes): void {
  const span = trace.getActiveSpan();
  // A circuit timer fires in the context of the call that opened the circuit, long after that
  // call's span ended; the SDK would drop the event with a warning.
  if (span?.isRecording()) span.addEvent(name, attributes);
}

/**
 * Resilience hooks that record what the policies did to a call as events on the active span
 * (the call's CLIENT span, see `rpcClientTracingInterceptor` and `withClientSpan`), so a slow or
 * failed call's trace shows why:
 * - `plexus.retry` before every retry or hedge: `plexus.retry.attempt` (the attempt about to
 *   start, 2 for the first retry), `plexus.retry.delay_ms`, `plexus.retry.hedge`;
 * - `plexus.rejected` when a policy refuses a call or a retry: `plexus.rejected.policy`
 *   (`circuit-breaker`, `bulkhead`, `rate-limiter`, `retry`, `hedging`), `plexus.rejected.reason`;
 * - `plexus.circuit.state_change` on the call whose outcome (or whose arrival) moved a circuit:
 *   `plexus.circuit.callee`, `plexus.circuit.from`, `plexus.circuit.to`.
 *
 * Without an active recording span (tracing off, a timer-driven state change) they do nothing.
 *
 * @example
 * const spanEvents = resilienceSpanEvents();
 * const resilience = createClientResilience({
 *   onRetry: (event) => { metrics.countRetry(event.callee, "retry"); spanEvents.onRetry(event); },
 *   onReject: spanEvents.onReject,
 *   onStateChange: spanEvents.onStateChange,
 * });
 */
export function resilienceSpanEvents(): ResilienceSpanEventHooks {
  return {
    onRetry({ attempt, delayMs, hedge }) {
      addEvent("plexus.retry", {
        "plexus.retry.attempt": attempt,
        "plexus.retry.delay_ms": delayMs,
        "plexus.retry.hedge": hedge,
      });
    },
    onReject({ policy, reason }) {
      addEvent("plexus.rejected", {
        "plexus.rejected.policy": policy,
        "plexus.rejected.reason": reason,
      });
    },
    onStateChange({ callee, from, to }) {
      addEvent("plexus.circuit.state_change", {
        "plexus.circuit.callee": callee,
        "plexus.circuit.from": from,
        "plexus.circuit.to": to,
      });
    },
  };
}
