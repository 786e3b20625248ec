/**
 * Chaos: a callee that turns slow and erroring under load, called over the real network stack
 * (Connect server on port 0, undici transport, typed client) through the resilience
 * interceptors. The policies run on a fake clock, so windows, waits and per-try timeouts are
 * exact; the network is real. Nothing here asserts wall-clock timings: latency is measured in
 * the policies' (fake) time, where it is deterministic.
 */
import { Code, headerPreviousAttempts, PlexusError, type ServiceHandlers } from "@plexus/core";
import {
  constantBackoff,
  createClientResilience,
  rejectionKindOf,
  type CircuitState,
} from "@plexus/resilience";
import { bindService, createClient, createNetworkTransport, createRpcServer } from "@plexus/rpc";
import { createFakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";

const callee = "shop.catalog.v1.CatalogService";
const workers = 12;
const perTryTimeoutMs = 100;
const maxAttempts = 3;
const backoffMs = 20;
const openWaitMs = 5_000;
const minimumNumberOfCalls = 10;
const windowSize = 20;
const maxTokens = 10;
const minRetryConcurrency = 3;

type Phase = "healthy" | "failing";

const notUsed = async (): Promise<never> => {
  throw new PlexusError(Code.Unimplemented, "not used");
};

/** The callee: healthy, or under "load" where every other call errors and the rest hang. */
function createCallee() {
  const state = {
    phase: "healthy" as Phase,
    calls: 0,
    retriedCalls: 0,
    inFlightRetries: 0,
    maxInFlightRetries: 0,
  };
  const handlers: ServiceHandlers<typeof CatalogService> = {
    listProducts: notUsed,
    getProducts: notUsed,
    reserveStock: notUsed,
    releaseStock: notUsed,
    async getProduct(request, { header, signal }) {
      state.calls++;
      const retry = Number(header.get(headerPreviousAttempts) ?? "0") > 0;
      if (retry) {
        state.retriedCalls++;
        state.inFlightRetries++;
        state.maxInFlightRetries = Math.max(state.maxInFlightRetries, state.inFlightRetries);
      }
      try {
        if (state.phase === "healthy") return { product: { id: request.id, name: "ok" } };
        if (state.calls % 2 === 0) throw new PlexusError(Code.Unavailable, "overloaded");
        // Slow: answers only when the caller gives up (its propagated deadline or a cancel).
        return await new Promise<never>((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true }),
        );
      } finally {
        if (retry) state.inFlightRetries--;
      }
    },
  };
  return { state, binding: bindService(CatalogService, handlers) };
}

describe("chaos: a callee that turns slow and erroring under load", () => {
  const clock = createFakeClock(0);
  const target = createCallee();
  const changes: CircuitState[] = [];
  const rejects: string[] = [];
  let retries = 0;
  const resilience = createClientResilience({
    clock,
    random: () => 1,
    defaults: {
      perTryTimeoutMs,
      retry: { maxAttempts, backoff: constantBackoff(backoffMs) },
      retryBudget: { maxTokens, tokenRatio: 0.1, budgetPercent: 20, minRetryConcurrency },
      circuitBreaker: {
        slidingWindow: { type: "count", size: windowSize },
        minimumNumberOfCalls,
        failureRateThreshold: 50,
        openWaitMs,
        permittedCallsInHalfOpen: 3,
      },
      bulkhead: { maxConcurrent: 64 },
    },
    onStateChange: ({ to }) => changes.push(to),
    onReject: ({ policy, reason }) => rejects.push(`${policy}:${reason}`),
    onRetry: () => retries++,
  });
  let server: Awaited<ReturnType<typeof createRpcServer>>;
  let transport: ReturnType<typeof createNetworkTransport>;
  let catalog: ReturnType<typeof createClient<typeof CatalogService>>;

  beforeAll(async () => {
    server = await createRpcServer({ services: [target.binding] });
    transport = createNetworkTransport({ baseUrl: server.address().url, clock });
    catalog = createClient(CatalogService, transport, {
      interceptors: resilience.interceptors,
      clock,
    });
  });

  afterAll(async () => {
    resilience[Symbol.dispose]();
    await transport.close();
    await server.close();
  });

  interface Outcome {
    ok: boolean;
    error: unknown;
    /** In the policies' time. */
    durationMs: number;
  }

  /** Runs `workers` concurrent callers until `done()` (or a bound), advancing fake time by `stepMs` per turn. */
  async function load(done: () => boolean, stepMs: number, maxTurns = 2_000): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const start = clock.now();
        try {
          await catalog.getProduct({ id: "p-1" });
          outcomes.push({ ok: true, error: undefined, durationMs: clock.now() - start });
        } catch (error) {
          outcomes.push({ ok: false, error, durationMs: clock.now() - start });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const running = Array.from({ length: workers }, worker);
    for (let turn = 0; turn < maxTurns && !done(); turn++) {
      if (stepMs > 0) await clock.advanceAsync(stepMs);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    stop = true;
    // Let the in-flight calls finish: the hanging ones end at their per-try timeout.
    const settled = Promise.all(running);
    for (let turn = 0; turn < 500; turn++) {
      const finished = await Promise.race([
        settled.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 1)),
      ]);
      if (finished) break;
      await clock.advanceAsync(10);
    }
    await settled;
    return outcomes;
  }

  it("serves every call while the callee is healthy", async () => {
    const outcomes = await load(() => target.state.calls >= 60, 0);
    expect(outcomes.length).toBeGreaterThanOrEqual(60);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(retries).toBe(0);
    expect(resilience.circuitBreaker(callee)?.state).toBe("closed");
  });

  it("opens the circuit within its window, then fails callers fast without touching the callee", async () => {
    target.state.phase = "failing";
    const callsBefore = target.state.calls;
    const retriesBefore = retries;
    const failing = await load(() => changes.includes("open"), 10);
    expect(changes).toEqual(["open"]);
    // All calls fail now, and the window held `windowSize` successes: it opens once failures
    // reach half of it; what was already in flight (one per worker, plus granted retries) ends after.
    const reachedCallee = target.state.calls - callsBefore;
    expect(reachedCallee).toBeLessThanOrEqual(windowSize / 2 + workers + minRetryConcurrency);
    // Latency stayed bounded by the policies: at most every attempt's timeout plus backoffs.
    const bound = maxAttempts * perTryTimeoutMs + (maxAttempts - 1) * backoffMs + 10;
    expect(Math.max(...failing.map((o) => o.durationMs))).toBeLessThanOrEqual(bound);
    expect(failing.every((o) => !o.ok)).toBe(true);

    // Retries stayed within the budget: the token bucket allows at most maxTokens / 2 retries
    // with no success in between, and never more than minRetryConcurrency at once.
    const retried = retries - retriesBefore;
    expect(retried).toBeLessThanOrEqual(maxTokens / 2);
    // A granted retry may still be refused locally (the circuit opened during its backoff).
    expect(target.state.retriedCalls).toBeLessThanOrEqual(retried);
    expect(target.state.maxInFlightRetries).toBeLessThanOrEqual(minRetryConcurrency);
    expect(rejects).toContain("retry:throttled");

    // Open: callers fail at once, in zero policy time, and the callee sees nothing.
    const callsAtOpen = target.state.calls;
    let rejected = 0;
    const open = await load(() => {
      rejected = rejects.filter((r) => r === "circuit-breaker:open").length;
      return rejected >= 200;
    }, 0);
    expect(target.state.calls).toBe(callsAtOpen);
    expect(open.length).toBeGreaterThanOrEqual(200);
    for (const outcome of open) {
      expect(rejectionKindOf(outcome.error)).toBe("circuit-open");
      expect((outcome.error as PlexusError).code).toBe(Code.Unavailable);
      expect(outcome.durationMs).toBe(0);
    }
  });

  it("closes the circuit again once the callee recovers", async () => {
    target.state.phase = "healthy";
    await clock.advanceAsync(openWaitMs);
    const recovery = await load(() => changes.includes("closed"), 0);
    expect(changes).toEqual(["open", "half-open", "closed"]);
    expect(recovery.some((o) => o.ok)).toBe(true);
    const after = await load(() => target.state.calls >= 0, 0, 1);
    expect(after.every((o) => o.ok)).toBe(true);
    expect(resilience.circuitBreaker(callee)?.state).toBe("closed");
  });
});
