import { create, type DescMethod } from "@bufbuild/protobuf";
import {
  chainInterceptors,
  Code,
  headerPreviousAttempts,
  PlexusError,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { CatalogService } from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import { UsersService } from "../../../apps/shop/gen/shop/users/v1/users_pb.js";
import { constantBackoff } from "./backoff.ts";
import type { ClientResilienceOptions, ResilienceRejectEvent } from "./callee-policies.ts";
import { createClientResilience } from "./client-resilience.ts";
import { rejectionKindOf } from "./errors.ts";

const getProduct = CatalogService.method.getProduct; // NO_SIDE_EFFECTS
const listProducts = CatalogService.method.listProducts; // NO_SIDE_EFFECTS
const createUser = UsersService.method.createUser; // no idempotency level

/** The transport end of the chain: answers from a script and records every request. */
function terminal(answer: (request: UnaryRequest, n: number) => Promise<UnaryResponse>) {
  const requests: UnaryRequest[] = [];
  const next = (request: UnaryRequest) => {
    requests.push(request);
    return answer(request, requests.length);
  };
  return { requests, next };
}

const ok = (): Promise<UnaryResponse> =>
  Promise.resolve({ message: {} as UnaryResponse["message"], header: new Headers() });
const fail = (code: Code = Code.Unavailable) => Promise.reject(new PlexusError(code, "x"));

function request(
  method: DescMethod,
  extra: { deadline?: number; idempotencyKey?: string; header?: Record<string, string> } = {},
): UnaryRequest {
  const controller = new AbortController();
  return {
    method,
    message: create(method.input),
    header: new Headers(extra.header),
    context: {
      correlationId: "c",
      requestId: "r",
      deadline: extra.deadline,
      idempotencyKey: extra.idempotencyKey,
      signal: controller.signal,
    },
  };
}

function setup(options: Omit<ClientResilienceOptions, "clock"> = {}) {
  const clock = createFakeClock(1_000);
  const retries: unknown[] = [];
  const rejects: ResilienceRejectEvent[] = [];
  const changes: unknown[] = [];
  const resilience = createClientResilience({
    defaults: { retry: { maxAttempts: 3, backoff: constantBackoff(10) } },
    ...options,
    clock,
    onRetry: (e) => retries.push(e),
    onReject: (e) => rejects.push(e),
    onStateChange: (e) => changes.push(e),
  });
  async function call(
    t: ReturnType<typeof terminal>,
    req: UnaryRequest,
  ): Promise<UnaryResponse | PlexusError> {
    const fn = chainInterceptors(resilience.interceptors, t.next);
    const outcome = fn(req).catch((e: unknown) => e as PlexusError);
    await clock.advanceAsync(1_000);
    return outcome;
  }
  return { clock, resilience, retries, rejects, changes, call };
}

describe("client resilience interceptors: idempotency", () => {
  it("retries an idempotent (NO_SIDE_EFFECTS) method, telling the callee how many attempts came before", async () => {
    const s = setup();
    const t = terminal((_, n) => (n < 3 ? fail() : ok()));
    expect(await s.call(t, request(getProduct))).not.toBeInstanceOf(PlexusError);
    expect(t.requests).toHaveLength(3);
    expect(t.requests.map((r) => r.header.get(headerPreviousAttempts))).toEqual([null, "1", "2"]);
    expect(s.retries).toEqual([
      {
        callee: "shop.catalog.v1.CatalogService",
        method: "GetProduct",
        attempt: 2,
        delayMs: 10,
        hedge: false,
      },
      {
        callee: "shop.catalog.v1.CatalogService",
        method: "GetProduct",
        attempt: 3,
        delayMs: 10,
        hedge: false,
      },
    ]);
  });

  it("never retries a non-idempotent method without an idempotency key", async () => {
    const s = setup();
    const t = terminal(() => fail());
    const outcome = await s.call(t, request(createUser));
    expect((outcome as PlexusError).code).toBe(Code.Unavailable);
    expect(t.requests).toHaveLength(1);
  });

  it("retries a non-idempotent method when the call carries a key (context or header)", async () => {
    for (const extra of [{ idempotencyKey: "k-1" }, { header: { "idempotency-key": "k-2" } }]) {
      const s = setup();
      const t = terminal((_, n) => (n < 2 ? fail() : ok()));
      expect(await s.call(t, request(createUser, extra))).not.toBeInstanceOf(PlexusError);
      expect(t.requests).toHaveLength(2);
    }
  });

  it("hedges idempotent methods where configured, never a keyed non-idempotent one", async () => {
    const s = setup({
      callees: {
        "shop.catalog.v1.CatalogService": { hedging: { delayMs: 50, maxAttempts: 2 } },
        "shop.users.v1.UsersService": { hedging: { delayMs: 50, maxAttempts: 2 } },
      },
    });
    const slowThenFast = terminal((_, n) => (n === 1 ? new Promise<never>(() => {}) : ok()));
    expect(await s.call(slowThenFast, request(getProduct))).not.toBeInstanceOf(PlexusError);
    expect(slowThenFast.requests).toHaveLength(2);
    expect(slowThenFast.requests[0]!.context.signal!.aborted).toBe(true); // the loser is cancelled
    const keyed = terminal(() => new Promise<never>(() => {}));
    void s.call(keyed, request(createUser, { idempotencyKey: "k" }));
    await s.clock.advanceAsync(500);
    expect(keyed.requests).toHaveLength(1);
  });
});

describe("client resilience interceptors: deadlines", () => {
  it("sends each attempt with the per-try deadline (never later than the call's) and its own signal", async () => {
    const s = setup({
      callees: {
        "shop.catalog.v1.CatalogService": { methods: { GetProduct: { perTryTimeoutMs: 100 } } },
      },
    });
    const t = terminal(() => ok());
    const req = request(getProduct, { deadline: 1_000 + 5_000 });
    await s.call(t, req);
    expect(t.requests[0]!.context.deadline).toBe(1_100);
    expect(t.requests[0]!.context.signal).not.toBe(req.context.signal);
    await s.call(t, request(getProduct, { deadline: s.clock.now() + 50 }));
    expect(t.requests[1]!.context.deadline).toBe(s.clock.now() - 1_000 + 50);
    await s.call(t, request(listProducts, { deadline: s.clock.now() + 60_000 }));
    expect(t.requests[2]!.context.deadline).toBe(s.clock.now() - 1_000 + 10_000); // default 10 s
  });

  it("gives a call without a deadline none: the built-in safety net is enforced locally only", async () => {
    const s = setup({ defaults: { retry: false } });
    const t = terminal(() => new Promise<never>(() => {}));
    const outcome = chainInterceptors(
      s.resilience.interceptors,
      t.next,
    )(request(getProduct)).catch((e: unknown) => e);
    await s.clock.advanceAsync(0);
    expect(t.requests[0]!.context.deadline).toBeUndefined();
    await s.clock.advanceAsync(9_999);
    expect(t.requests[0]!.context.signal!.aborted).toBe(false);
    await s.clock.advanceAsync(1);
    expect(t.requests[0]!.context.signal!.aborted).toBe(true);
    expect(await outcome).toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("sends a configured per-try timeout as the deadline of a call that has none", async () => {
    const s = setup({ defaults: { perTryTimeoutMs: 10_000 } });
    const t = terminal(() => ok());
    await s.call(t, request(getProduct));
    expect(t.requests[0]!.context.deadline).toBe(1_000 + 10_000);
  });

  it("arms no timer per call: calls in flight share one timer slot", async () => {
    const s = setup();
    const answers: (() => void)[] = [];
    const t = terminal(() => new Promise((resolve) => answers.push(() => resolve(ok()))));
    const fn = chainInterceptors(s.resilience.interceptors, t.next);
    const calls = Array.from({ length: 20 }, () => fn(request(getProduct)));
    await s.clock.advanceAsync(0);
    expect(t.requests).toHaveLength(20);
    expect(s.clock.pendingTimers()).toBe(1);
    for (const answer of answers) answer();
    await Promise.all(calls);
  });

  it("retries an attempt cut by its per-try timeout, within the call's deadline", async () => {
    const s = setup({ defaults: { perTryTimeoutMs: 100, retry: { backoff: constantBackoff(0) } } });
    const t = terminal((_, n) => (n === 1 ? new Promise<never>(() => {}) : ok()));
    expect(await s.call(t, request(getProduct))).not.toBeInstanceOf(PlexusError);
    expect(t.requests).toHaveLength(2);
    expect(t.requests[0]!.context.signal!.aborted).toBe(true);
  });
});

describe("client resilience interceptors: per-callee state", () => {
  it("keeps one circuit per callee, reports its changes and refusals", async () => {
    const s = setup({
      defaults: {
        retry: false,
        circuitBreaker: {
          slidingWindow: { type: "count", size: 2 },
          minimumNumberOfCalls: 2,
          openWaitMs: 60_000,
        },
      },
    });
    const broken = terminal(() => fail(Code.Internal));
    await s.call(broken, request(getProduct));
    await s.call(broken, request(listProducts));
    expect(s.resilience.circuitBreaker("shop.catalog.v1.CatalogService")?.state).toBe("open");
    expect(s.changes).toEqual([
      { callee: "shop.catalog.v1.CatalogService", from: "closed", to: "open" },
    ]);
    const refused = await s.call(broken, request(getProduct));
    expect(rejectionKindOf(refused)).toBe("circuit-open");
    expect(broken.requests).toHaveLength(2);
    expect(s.rejects).toEqual([
      {
        callee: "shop.catalog.v1.CatalogService",
        method: undefined,
        policy: "circuit-breaker",
        reason: "open",
      },
    ]);
    const users = terminal(() => ok());
    expect(await s.call(users, request(createUser))).not.toBeInstanceOf(PlexusError);
    expect(s.resilience.circuitBreaker("shop.users.v1.UsersService")?.state).toBe("closed");
    const snapshot = s.resilience.snapshot();
    expect(snapshot.map((c) => [c.callee, c.circuit?.state])).toEqual([
      ["shop.catalog.v1.CatalogService", "open"],
      ["shop.users.v1.UsersService", "closed"],
    ]);
  });

  it("reports retries refused by the budget", async () => {
    const s = setup({ defaults: { retryBudget: { maxTokens: 2, tokenRatio: 0.1 } } });
    const t = terminal(() => fail());
    await s.call(t, request(getProduct));
    expect(t.requests).toHaveLength(1); // 2 → 1 token: at half, throttled
    expect(s.rejects).toEqual([
      {
        callee: "shop.catalog.v1.CatalogService",
        method: "GetProduct",
        policy: "retry",
        reason: "throttled",
      },
    ]);
  });

  it("runs any call through a callee's pipeline with execute (HTTP upstreams)", async () => {
    const s = setup();
    let attempts = 0;
    const outcome = s.resilience.execute(
      { callee: "legacy", method: "GET /orders", idempotent: true },
      async () => {
        attempts++;
        if (attempts === 1)
          throw new PlexusError(Code.Unavailable, "HTTP 503", {
            metadata: { retryAfterMs: "2000" },
          });
        return "body";
      },
    );
    await s.clock.advanceAsync(1_999);
    expect(attempts).toBe(1); // the 2 s pushback overrides the 10 ms backoff
    await s.clock.advanceAsync(1);
    expect(await outcome).toBe("body");
  });
});
