/**
 * `resilience`: the cost of the policy stack on the hot path — a trivial async function called
 * sequentially, bare and through each library's stack, in the same run:
 * - `bare`: the function itself (the baseline);
 * - `plexus`: the full client pipeline of `createClientResilience` (DESIGN.md's default, with
 *   metrics hooks installed): deadline + per-try timeout (aggressive), bulkhead, time-window
 *   circuit breaker, retry with its budget (gRPC throttling + Envoy concurrency);
 * - `plexus-pipeline`: the same primitives assembled by hand with `createPipeline`;
 * - `cockatiel`: retry + circuit breaker (sampling) + timeout (aggressive), `wrap`ped;
 * - `opossum`: its circuit breaker with its timeout.
 */
import { systemClock } from "@plexus/core";
import {
  createBulkhead,
  createCircuitBreaker,
  createClientResilience,
  createPipeline,
  createRetryBudget,
  createRetryPolicy,
  createTimeout,
  execute,
  type CallDescriptor,
} from "@plexus/resilience";
import {
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  SamplingBreaker,
  timeout,
  TimeoutStrategy,
  wrap,
} from "cockatiel";
import CircuitBreaker from "opossum";
import type { Suite } from "../harness.ts";

/** The trivial async function every candidate calls. */
async function trivial(_signal?: AbortSignal): Promise<number> {
  return 1;
}

export function createSuite(): Suite {
  let events = 0;
  const count = (): void => {
    events++;
  };

  const resilience = createClientResilience({
    onRetry: count,
    onReject: count,
    onStateChange: count,
  });
  const call: CallDescriptor = {
    callee: "bench.v1.BenchService",
    method: "Trivial",
    idempotent: true,
  };
  // The caller's deadline, as an incoming request's context carries it: set once, not per call.
  const options = { deadline: Date.now() + 3_600_000 };

  const budget = createRetryBudget();
  const pipeline = createPipeline({
    retry: createRetryPolicy({ budget, onRetry: count, onGiveUp: count }),
    bulkhead: createBulkhead({ maxConcurrent: 256, maxQueue: 256, onReject: count }),
    circuitBreaker: createCircuitBreaker({
      slidingWindow: { type: "time", sizeMs: 10_000 },
      minimumNumberOfCalls: 20,
      onStateChange: count,
      onReject: count,
    }),
    timeout: createTimeout({ timeoutMs: 10_000 }),
    clock: systemClock,
  });

  const cockatiel = wrap(
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000 }),
    }),
    timeout(10_000, TimeoutStrategy.Aggressive),
  );

  const opossum = new CircuitBreaker(trivial, {
    timeout: 10_000,
    errorThresholdPercentage: 50,
    resetTimeout: 5_000,
  });

  return {
    name: "resilience",
    description: { op: "await trivial() — an async function returning 1, called sequentially" },
    batchSize: 100,
    baseline: { name: "bare", op: () => trivial() },
    candidates: [
      { name: "plexus", op: () => resilience.execute(call, trivial, options) },
      { name: "plexus-pipeline", op: () => execute(pipeline, trivial, options) },
      { name: "cockatiel", op: () => cockatiel.execute(({ signal }) => trivial(signal)) },
      {
        name: "opossum",
        op: () => opossum.fire(),
        teardown: () => {
          opossum.shutdown();
          resilience[Symbol.dispose]();
          if (events > 0) console.log(`resilience events during the run: ${events}`);
        },
      },
    ],
  };
}
