import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  createLogger,
  isRetryableCode,
  PlexusError,
  systemClock,
  type Db,
  type HandlerContext,
  type ServiceHandlers,
} from "@plexus/core";
import { validatedHandlers, createHttpClients, createHttpUpstream } from "@plexus/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChargeRequestSchema,
  ChargeResponseSchema,
  ListChargesRequestSchema,
  ListChargesResponseSchema,
  RefundOrderRequestSchema,
  RefundOrderResponseSchema,
  PaymentsService,
} from "../../gen/shop/payments/v1/payments_pb.js";
import { createServiceTestEnv } from "../service-test-env.ts";
import {
  openServiceTestStorage,
  storageBackends,
  type ServiceTestStorage,
} from "../test-storage.ts";
import { createHttpCardProvider } from "./adapters/http-card-provider.ts";
import { createPaymentsHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlChargeRepository } from "./adapters/sql-charge-repository.ts";
import { createCardProviderServer } from "./provider/card-provider-server.ts";
import { paymentsService } from "./service.ts";
import { errorOf } from "../test-errors.ts";

type Handlers = ServiceHandlers<typeof PaymentsService>;

/** One payments replica: the handlers, over its own provider server and upstream. */
interface Replica {
  readonly handlers: Handlers;
  /** Its provider's base URL, to ask the provider directly. */
  readonly providerUrl: string;
  close(): Promise<void>;
}

// PGlite always; Postgres (real concurrency: blocked unique inserts, row locks) when it runs.
const backends = await storageBackends();

describe.each(backends)("payments on $kind", ({ kind, available }) => {
  const slowMs = 400;
  let opened: ServiceTestStorage | undefined;
  let db: Db;
  /** Charge timeout well over tok_slow: only a call's own deadline cuts it short. */
  let patient: Replica;
  /** Charge timeout under tok_slow: a slow charge times out (as with the defaults, 2 s vs 3 s). */
  let hasty: Replica;
  let counter = 0;

  async function startReplica(providerTimeoutMs: number): Promise<Replica> {
    const server = await createCardProviderServer({ db, slowMs, flaky: { seed: 7 } });
    const upstream = createHttpUpstream({ name: "card-provider", url: server.url });
    const provider = createHttpCardProvider({ upstream });
    const handlers = validatedHandlers(
      PaymentsService,
      createPaymentsHandlers({
        charges: createSqlChargeRepository(db),
        provider,
        clock: systemClock,
        logger: createLogger({ name: "payments-test", level: "silent" }),
        providerTimeoutMs,
      }),
    );
    return {
      handlers,
      providerUrl: server.url,
      async close() {
        await server.close();
        await upstream.close();
      },
    };
  }

  beforeAll(async () => {
    if (!available) return;
    opened = await openServiceTestStorage(kind, "plexus_payments", paymentsService);
    ({ db } = opened);
    patient = await startReplica(10_000);
    hasty = await startReplica(100);
  });

  afterAll(async () => {
    await patient?.close();
    await hasty?.close();
    await opened?.close();
  });

  function ctxOf(idempotencyKey?: string, deadlineInMs?: number): HandlerContext {
    return {
      context: {
        correlationId: "test-correlation",
        requestId: "test-request",
        idempotencyKey,
        deadline: deadlineInMs === undefined ? undefined : Date.now() + deadlineInMs,
      },
      header: new Headers(),
      signal: new AbortController().signal,
    };
  }

  function next(name: string): string {
    return `${name}-${++counter}`;
  }

  interface ChargeCall {
    key?: string | undefined;
    orderId: string;
    token: string;
    amountCents?: bigint;
    currency?: string;
    on?: Replica;
    deadlineInMs?: number;
  }

  async function charge(call: ChargeCall) {
    const request = create(ChargeRequestSchema, {
      orderId: call.orderId,
      amountCents: call.amountCents ?? 1250n,
      currency: call.currency ?? "EUR",
      paymentToken: call.token,
    });
    const on = call.on ?? patient;
    const response = await on.handlers.charge(request, ctxOf(call.key, call.deadlineInMs));
    return create(ChargeResponseSchema, response).charge!;
  }

  /** Charges until the answer is not a retryable error, as a saga's retry policy would. */
  async function chargeWithRetries(call: ChargeCall) {
    const failures: Code[] = [];
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        return { charge: await charge(call), failures };
      } catch (error) {
        if (!(error instanceof PlexusError) || !isRetryableCode(error.code)) throw error;
        failures.push(error.code);
      }
    }
    throw new Error("still failing after 200 attempts");
  }

  async function refund(orderId: string, on: Replica = patient) {
    const request = create(RefundOrderRequestSchema, { orderId });
    return create(RefundOrderResponseSchema, await on.handlers.refundOrder(request, ctxOf()))
      .charges;
  }

  async function list(orderId: string) {
    const request = create(ListChargesRequestSchema, { orderId });
    return create(ListChargesResponseSchema, await patient.handlers.listCharges(request, ctxOf()))
      .charges;
  }

  /** The provider's records for an order, by status (what money actually moved). */
  async function providerStatuses(orderId: string): Promise<string[]> {
    const result = await db.query<{ status: string }>(
      "SELECT status FROM provider_charges WHERE reference = $1 ORDER BY created_at",
      [orderId],
    );
    return result.rows.map((r) => r.status);
  }

  /** Charge rows of an order, PENDING ones included. */
  async function rowStatuses(orderId: string): Promise<string[]> {
    const result = await db.query<{ status: string }>(
      "SELECT status FROM charges WHERE order_id = $1 ORDER BY seq",
      [orderId],
    );
    return result.rows.map((r) => r.status);
  }

  /** Asks the provider directly for a key's charge: waits for one in flight, charges nothing new
   * for a settled key. Used to let an abandoned slow charge finish before checking. */
  async function askProvider(on: Replica, key: string, orderId: string, token: string) {
    const response = await fetch(`${on.providerUrl}/v1/charges`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify({ amount: "1250", currency: "EUR", source: token, reference: orderId }),
    });
    await response.body?.cancel();
    return response.status;
  }

  describe.skipIf(!available)("Charge", () => {
    it("charges tok_visa once and lists it", async () => {
      const orderId = next("order");
      const key = `${orderId}:charge:action`;
      const charged = await charge({ key, orderId, token: "tok_visa", amountCents: 4999n });
      expect(charged).toMatchObject({
        orderId,
        status: "SUCCEEDED",
        amountCents: 4999n,
        currency: "EUR",
        failureReason: "",
      });
      expect(charged.chargeId).toMatch(/^ch_[0-9a-f-]{36}$/);
      expect(await list(orderId)).toEqual([charged]);
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it("answers the same charge for the same key, charging once", async () => {
      const orderId = next("order");
      const key = next("key");
      const first = await charge({ key, orderId, token: "tok_visa" });
      expect(await charge({ key, orderId, token: "tok_visa" })).toEqual(first);
      expect(await rowStatuses(orderId)).toEqual(["SUCCEEDED"]);
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it("answers concurrent duplicates with one charge", async () => {
      const orderId = next("order");
      const key = next("key");
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => charge({ key, orderId, token: "tok_visa" })),
      );
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(await rowStatuses(orderId)).toEqual(["SUCCEEDED"]);
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it("answers concurrent duplicates of a slow charge with one charge", async () => {
      const orderId = next("order");
      const key = next("key");
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => charge({ key, orderId, token: "tok_slow" })),
      );
      for (const answer of answers) expect(answer).toEqual(answers[0]);
      expect(answers[0]!.status).toBe("SUCCEEDED");
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it.each([
      ["tok_declined", "the payment was declined"],
      ["tok_no-such-card", "the payment token is invalid"],
    ])("declines %s as PAYMENT_DECLINED, recorded as FAILED", async (token, message) => {
      const orderId = next("order");
      const key = next("key");
      const error = await errorOf(charge({ key, orderId, token }));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.reason).toBe("PAYMENT_DECLINED");
      expect(error.message).toBe(message);
      expect(await list(orderId)).toMatchObject([
        { status: "FAILED", failureReason: "PAYMENT_DECLINED", amountCents: 1250n },
      ]);
      // The same key answers the recorded outcome.
      expect((await errorOf(charge({ key, orderId, token }))).reason).toBe("PAYMENT_DECLINED");
      expect(await providerStatuses(orderId)).toEqual(["declined"]);
    });

    it("requires an idempotency key, and takes it from the header too", async () => {
      const orderId = next("order");
      const error = await errorOf(charge({ orderId, token: "tok_visa" }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("IDEMPOTENCY_KEY_REQUIRED");
      expect(await rowStatuses(orderId)).toEqual([]);

      const ctx = ctxOf();
      ctx.header.set("idempotency-key", next("header-key"));
      const request = create(ChargeRequestSchema, {
        orderId,
        amountCents: 100n,
        currency: "EUR",
        paymentToken: "tok_visa",
      });
      const { charge: charged } = await patient.handlers.charge(request, ctx);
      expect(charged?.status).toBe("SUCCEEDED");
    });

    it.each([
      [{ amountCents: 0n }, ["amountCents"]],
      [{ amountCents: -100n }, ["amountCents"]],
      [{ currency: "eur" }, ["currency"]],
      [{ currency: "EURO" }, ["currency"]],
      [{ orderId: "" }, ["orderId"]],
      [{ token: "" }, ["paymentToken"]],
      [{ orderId: "", amountCents: 0n, currency: "" }, ["orderId", "amountCents", "currency"]],
    ])("refuses %o as a validation error, recording nothing", async (override, fields) => {
      const orderId = next("order");
      const error = await errorOf(
        charge({ key: next("key"), orderId, token: "tok_visa", ...override }),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("VALIDATION_ERROR");
      expect(error.details.map((d) => d.field)).toEqual(fields);
      expect(await rowStatuses(orderId)).toEqual([]);
    });

    it("refuses a key reused for another order or amount", async () => {
      const orderId = next("order");
      const key = next("key");
      await charge({ key, orderId, token: "tok_visa" });
      for (const other of [{ orderId: next("order") }, { amountCents: 1n }, { currency: "USD" }]) {
        const error = await errorOf(charge({ key, orderId, token: "tok_visa", ...other }));
        expect(error.code).toBe(Code.FailedPrecondition);
        expect(error.reason).toBe("IDEMPOTENCY_KEY_REUSED");
      }
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it("answers the existing charge to another key of a paid order", async () => {
      const orderId = next("order");
      const first = await charge({ key: next("key"), orderId, token: "tok_visa" });
      const second = await charge({ key: next("key"), orderId, token: "tok_visa" });
      expect(second).toEqual(first);
      expect(await rowStatuses(orderId)).toEqual(["SUCCEEDED"]);
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it("never keeps two SUCCEEDED charges for one order, even under racing keys", async () => {
      const orderId = next("order");
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => charge({ key: next("key"), orderId, token: "tok_visa" })),
      );
      for (const answer of answers) expect(answer.chargeId).toBe(answers[0]!.chargeId);
      const rows = await rowStatuses(orderId);
      expect(rows.filter((s) => s === "SUCCEEDED")).toHaveLength(1);
      expect(rows.every((s) => s === "SUCCEEDED" || s === "REFUNDED" || s === "FAILED")).toBe(true);
      // Money: exactly one provider charge kept, any other one given back.
      const money = await providerStatuses(orderId);
      expect(money.filter((s) => s === "succeeded")).toHaveLength(1);
      expect(money.every((s) => ["succeeded", "refunded", "voided"].includes(s))).toBe(true);
      expect((await list(orderId)).filter((c) => c.status === "SUCCEEDED")).toHaveLength(1);
    });

    it("tok_slow: times out (DEADLINE_EXCEEDED), and the retry with the key finds the one charge", async () => {
      const orderId = next("order");
      const key = `${orderId}:charge:action`;
      const first = await errorOf(charge({ key, orderId, token: "tok_slow", on: hasty }));
      expect(first.code).toBe(Code.DeadlineExceeded);
      expect(await rowStatuses(orderId)).toEqual(["PENDING"]);
      expect(await list(orderId)).toEqual([]); // PENDING is not shown
      const { charge: charged } = await chargeWithRetries({
        key,
        orderId,
        token: "tok_slow",
        on: hasty,
      });
      expect(charged.status).toBe("SUCCEEDED");
      expect(await list(orderId)).toEqual([charged]);
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it("tok_slow: a retry on another replica finds the same charge", async () => {
      const orderId = next("order");
      const key = next("key");
      const first = await errorOf(charge({ key, orderId, token: "tok_slow", on: hasty }));
      expect(first.code).toBe(Code.DeadlineExceeded);
      const retried = await charge({ key, orderId, token: "tok_slow", on: patient });
      expect(retried.status).toBe("SUCCEEDED");
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
      expect(await rowStatuses(orderId)).toEqual(["SUCCEEDED"]);
    });

    it("bounds the provider call by the call's deadline", async () => {
      const orderId = next("order");
      const key = next("key");
      const error = await errorOf(charge({ key, orderId, token: "tok_slow", deadlineInMs: 50 }));
      expect(error.code).toBe(Code.DeadlineExceeded);
      const gone = await errorOf(charge({ key, orderId, token: "tok_slow", deadlineInMs: -1 }));
      expect(gone.code).toBe(Code.DeadlineExceeded);
      const retried = await charge({ key, orderId, token: "tok_slow" });
      expect(retried.status).toBe("SUCCEEDED");
      expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
    });

    it("tok_flaky: retried until it succeeds, charged exactly once", async () => {
      let failures = 0;
      for (let i = 0; i < 12; i++) {
        const orderId = next("order");
        const key = `${orderId}:charge:action`;
        const result = await chargeWithRetries({ key, orderId, token: "tok_flaky" });
        failures += result.failures.length;
        for (const code of result.failures) expect(code).toBe(Code.Unavailable);
        expect(result.charge.status).toBe("SUCCEEDED");
        expect(await rowStatuses(orderId)).toEqual(["SUCCEEDED"]);
        expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
      }
      // Seeded: the failures happen, and each was retried into the one charge.
      expect(failures).toBeGreaterThan(3);
    });
  });

  describe.skipIf(!available)("RefundOrder", () => {
    it("refunds a succeeded charge, idempotently", async () => {
      const orderId = next("order");
      const key = next("key");
      const charged = await charge({ key, orderId, token: "tok_visa" });
      const refunded = await refund(orderId);
      expect(refunded).toEqual([{ ...charged, status: "REFUNDED" }]);
      expect(await refund(orderId)).toEqual(refunded);
      expect(await list(orderId)).toEqual(refunded);
      expect(await providerStatuses(orderId)).toEqual(["refunded"]);
      // Neither the same key nor a new one charges the order again.
      expect((await errorOf(charge({ key, orderId, token: "tok_visa" }))).reason).toBe(
        "CHARGE_REFUNDED",
      );
      const late = await errorOf(charge({ key: next("key"), orderId, token: "tok_visa" }));
      expect(late.code).toBe(Code.FailedPrecondition);
      expect(late.reason).toBe("ORDER_REFUNDED");
      expect(await providerStatuses(orderId)).toEqual(["refunded"]);
    });

    it("leaves a declined charge FAILED", async () => {
      const orderId = next("order");
      await errorOf(charge({ key: next("key"), orderId, token: "tok_declined" }));
      expect(await refund(orderId)).toMatchObject([
        { status: "FAILED", failureReason: "PAYMENT_DECLINED" },
      ]);
    });

    it("refuses a charge arriving after the refund of an order never charged", async () => {
      const orderId = next("order");
      expect(await refund(orderId)).toEqual([]);
      const late = await errorOf(charge({ key: next("key"), orderId, token: "tok_visa" }));
      expect(late.reason).toBe("ORDER_REFUNDED");
      expect(await rowStatuses(orderId)).toEqual([]);
      expect(await providerStatuses(orderId)).toEqual([]);
    });

    it("settles a PENDING charge still in flight: no charge is kept, now or later", async () => {
      const orderId = next("order");
      const key = `${orderId}:charge:action`;
      expect((await errorOf(charge({ key, orderId, token: "tok_slow", on: hasty }))).code).toBe(
        Code.DeadlineExceeded,
      );
      const settled = await refund(orderId);
      expect(settled).toHaveLength(1);
      // Usually the provider is still working on it (voided → FAILED); on a slow machine it may
      // have charged already (refunded → REFUNDED). Either way no money is kept.
      expect(["FAILED", "REFUNDED"]).toContain(settled[0]!.status);
      // Let the abandoned provider request finish, then look at the money.
      expect([200, 409]).toContain(await askProvider(hasty, key, orderId, "tok_slow"));
      expect(await providerStatuses(orderId)).not.toContain("succeeded");
      expect(await rowStatuses(orderId)).not.toContain("SUCCEEDED");
      expect(await rowStatuses(orderId)).not.toContain("PENDING");
      // A retry of the charge does not revive it.
      const retry = await errorOf(charge({ key, orderId, token: "tok_slow", on: hasty }));
      expect(retry.code).toBe(Code.FailedPrecondition);
      expect(await providerStatuses(orderId)).not.toContain("succeeded");
    });

    it("refunds a PENDING charge the provider made after the caller gave up", async () => {
      const orderId = next("order");
      const key = next("key");
      await errorOf(charge({ key, orderId, token: "tok_slow", on: hasty }));
      // Wait for the provider to finish the abandoned charge (a direct request joins it).
      expect(await askProvider(hasty, key, orderId, "tok_slow")).toBe(200);
      expect(await rowStatuses(orderId)).toEqual(["PENDING"]);
      expect(await refund(orderId)).toMatchObject([{ status: "REFUNDED", amountCents: 1250n }]);
      expect(await providerStatuses(orderId)).toEqual(["refunded"]);
    });

    it("keeps no charge when it races the charge itself", async () => {
      for (let i = 0; i < 8; i++) {
        const orderId = next("order");
        const key = `${orderId}:charge:action`;
        const token = i % 2 === 0 ? "tok_visa" : "tok_flaky";
        await Promise.allSettled([charge({ key, orderId, token }), refund(orderId)]);
        // As a saga would: its compensation is retried until it succeeds.
        await refund(orderId);
        expect(await rowStatuses(orderId)).not.toContain("SUCCEEDED");
        expect(await rowStatuses(orderId)).not.toContain("PENDING");
        expect(await providerStatuses(orderId)).not.toContain("succeeded");
      }
    });
  });

  describe.skipIf(!available)("ListCharges", () => {
    it("lists an order's charges oldest first and refuses an empty order id", async () => {
      const orderId = next("order");
      await errorOf(charge({ key: next("key"), orderId, token: "tok_declined" }));
      await errorOf(charge({ key: next("key"), orderId, token: "tok_unknown" }));
      const charged = await charge({ key: next("key"), orderId, token: "tok_visa" });
      const charges = await list(orderId);
      expect(charges.map((c) => c.status)).toEqual(["FAILED", "FAILED", "SUCCEEDED"]);
      expect(charges[2]).toEqual(charged);
      expect(await list(next("order"))).toEqual([]);
      const error = await errorOf(list(""));
      expect(error.reason).toBe("VALIDATION_ERROR");
    });
  });

  describe.skipIf(!available)("paymentsService", () => {
    it("starts its provider, keeps charges across a restart, never logs the card token", async () => {
      const lines: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      });
      await using http = createHttpClients();
      const env = createServiceTestEnv({
        name: paymentsService.name,
        db,
        http,
        logger: createLogger({ name: "payments", level: "trace", destination }),
        config: { PLEXUS_PAYMENT_SLOW_MS: "10", PLEXUS_PAYMENT_FLAKY_SEED: "1" },
      });
      const secretToken = "tok_do-not-log-4242424242424242";
      const orderId = next("order");
      const key = next("key");
      const request = create(ChargeRequestSchema, {
        orderId,
        amountCents: 700n,
        currency: "EUR",
        paymentToken: "tok_visa",
      });

      const first = await paymentsService.create(env);
      const charged = await first.handlers.charge(request, ctxOf(key));
      const declined = { ...request, orderId: next("order"), paymentToken: secretToken };
      await errorOf(first.handlers.charge(declined, ctxOf(next("key"))));
      // The logger censors token fields wherever they sit, protobuf messages included.
      env.logger.info({ request: { ...request, paymentToken: secretToken } }, "request");
      env.logger.info({ payment_token: secretToken, paymentToken: secretToken }, "fields");
      await first.close?.();

      const second = await paymentsService.create(env);
      try {
        expect(await second.handlers.charge(request, ctxOf(key))).toEqual(charged);
        expect(await providerStatuses(orderId)).toEqual(["succeeded"]);
      } finally {
        await second.close?.();
      }
      const log = lines.join("");
      expect(log).toContain("charge succeeded");
      expect(log).toContain("[REDACTED]");
      expect(log).not.toContain(secretToken);
      expect(log).not.toContain("tok_visa");
    });

    it("refuses a bad setting at start", async () => {
      const env = createServiceTestEnv({
        name: paymentsService.name,
        db,
        config: { PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS: "2s" },
      });
      await expect(Promise.resolve().then(() => paymentsService.create(env))).rejects.toThrow(
        /PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS/,
      );
    });
  });
});
