import { PlexusError, codeToConnectName, type Interceptor } from "@plexus/core";
import type { Metrics } from "./metrics.ts";

/** How a boundary's call names its callee and method, the labels of the outgoing-call series. */
export interface ClientCallLabels<C> {
  callee(call: C): string;
  method(call: C): string;
}

/**
 * An interceptor recording every outgoing call per (caller, callee, method, outcome) in the
 * rate/error/duration series API.md's `/metrics` promises: `ok` for every result returned, else
 * the failure's code. RPC calls and HTTP upstream requests share it, each naming its labels.
 */
export function clientCallMetrics<C, R>(
  metrics: Metrics,
  caller: string,
  labels: ClientCallLabels<C>,
): Interceptor<C, R> {
  return (next) =>
    async function recordClientCall(call) {
      const started = performance.now();
      let code = "ok";
      try {
        return await next(call);
      } catch (error) {
        code = codeToConnectName(PlexusError.from(error).code);
        throw error;
      } finally {
        metrics.observeRpcClientCall({
          caller,
          callee: labels.callee(call),
          method: labels.method(call),
          code,
          durationMs: performance.now() - started,
        });
      }
    };
}
