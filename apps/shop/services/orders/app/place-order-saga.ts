import { Code, PlexusError, type Clock, type Client, type Db, type Logger } from "@plexus/core";
import { defineSaga, type SagaDefinition, type SagaFinishedEvent } from "@plexus/saga";
import type { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import type { PaymentsService } from "../../../gen/shop/payments/v1/payments_pb.js";
import type { OrdersConfig } from "../config.ts";
import { failureReasons, type PaymentStatus, type PaymentSummary } from "../domain/order.ts";
import { failureReasonOf } from "./failure-reason.ts";
import type { OrderEventLog } from "./order-event-log.ts";
import { orderCancelledEvent, orderConfirmedEvent } from "./order-events.ts";
import type { OrderRepositoryFactory } from "./order-repository.ts";
import { nowIso } from "../../now-iso.ts";

/** The saga type (persisted with every saga: never rename it while sagas of it may be live). */
export const placeOrderSagaName = "place-order";

/**
 * What the saga is started with, persisted as JSON and shown by the admin API. Deliberately
 * without the card token: the charge step reads it from the order row.
 */
export interface PlaceOrderSagaInput {
  readonly orderId: string;
  readonly userId: string;
  readonly lines: readonly { readonly productId: string; readonly quantity: number }[];
  /** Decimal string (int64 does not fit JSON numbers in general). */
  readonly amountCents: string;
  readonly currency: string;
}

/** What the charge step outputs (JSON). */
interface ChargeOutput {
  readonly chargeId: string;
  readonly amountCents: string;
}

export interface PlaceOrderSagaDeps {
  /** The orders database: the charge step reads the token, compensations note the payment. */
  readonly db: Db;
  readonly orders: OrderRepositoryFactory;
  readonly events: OrderEventLog;
  readonly catalog: Client<typeof CatalogService>;
  readonly payments: Client<typeof PaymentsService>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: OrdersConfig;
}

/** Cap of any retry backoff: a saga never sleeps long between tries. */
const maxBackoffMs = 5000;

function isRefusal(error: PlexusError, ...reasons: string[]): boolean {
  return error.code === Code.FailedPrecondition && reasons.includes(error.reason ?? "");
}

/** Only a transient condition downstream is worth another try of the same call. */
function isTransient(error: PlexusError): boolean {
  return error.code === Code.Unavailable || error.code === Code.DeadlineExceeded;
}

function isPaymentStatus(status: string): status is PaymentStatus {
  return ["PENDING", "SUCCEEDED", "REFUNDED", "FAILED"].includes(status);
}

/**
 * The `place-order` saga: reserve stock (catalog) → charge (payments) → confirm, compensated in
 * reverse (refund, release stock). Every call carries the step's idempotency key
 * (`<orderId>:<step>:<phase>`, the same on every retry and after a resume), and the reservation
 * is keyed by the order id, so a retried or resumed step has one effect downstream.
 *
 * - reserve: OUT_OF_STOCK / PRODUCT_NOT_FOUND are business failures (nothing taken, nothing to
 *   undo: the order is cancelled at once, OUT_OF_STOCK).
 * - charge: each try is bounded by `chargeTimeoutMs`, transient failures (UNAVAILABLE,
 *   DEADLINE_EXCEEDED) are retried with backoff up to `chargeMaxAttempts`. PAYMENT_DECLINED is a
 *   business failure (the stock is released, no refund needed). Any other failure, retries
 *   exhausted included, runs the charge's OWN compensation too (the saga engine does so for any
 *   non-business failure): RefundOrder refunds a charge the provider made while we were not
 *   listening and voids one still in flight, so PAYMENT_UNAVAILABLE keeps no charge.
 * - confirm: local. The order becomes CONFIRMED in the transaction that completes the saga.
 *
 * The order's final status and its OrderConfirmed / OrderCancelled event are written by the
 * finish hooks, in the transaction that writes the saga's final state, and only from PENDING.
 */
export function createPlaceOrderSaga(
  deps: PlaceOrderSagaDeps,
): SagaDefinition<PlaceOrderSagaInput> {
  const { config, catalog, payments } = deps;
  const now = (): string => nowIso(deps.clock);
  const retry = { initialDelayMs: config.retryDelayMs, maxDelayMs: maxBackoffMs };

  async function complete(event: SagaFinishedEvent<PlaceOrderSagaInput>): Promise<void> {
    const { input, tx } = event;
    const charge = event.outputs["charge"] as ChargeOutput | undefined;
    if (!charge) throw new PlexusError(Code.Internal, "completed without a charge output");
    const at = now();
    const payment: PaymentSummary = {
      status: "SUCCEEDED",
      chargeId: charge.chargeId,
      amountCents: BigInt(charge.amountCents),
    };
    if (!(await deps.orders(tx).confirm(input.orderId, payment, at))) {
      deps.logger.warn({ orderId: input.orderId }, "order was no longer PENDING at confirmation");
      return;
    }
    await deps.events.record(
      tx,
      orderConfirmedEvent(
        { id: input.orderId, userId: input.userId, totalCents: BigInt(input.amountCents) },
        at,
      ),
    );
    deps.logger.info({ orderId: input.orderId, chargeId: charge.chargeId }, "order confirmed");
  }

  async function compensated(event: SagaFinishedEvent<PlaceOrderSagaInput>): Promise<void> {
    const { input, tx } = event;
    const reason = failureReasonOf(event.failure ?? undefined);
    const at = now();
    // A decline answers no charge id; the charge step's compensation did not run (nothing to
    // refund), so this is where the order learns its payment failed.
    const payment: PaymentSummary | undefined =
      reason === failureReasons.paymentDeclined
        ? { status: "FAILED", chargeId: undefined, amountCents: BigInt(input.amountCents) }
        : undefined;
    if (!(await deps.orders(tx).cancel(input.orderId, reason, payment, at))) {
      deps.logger.warn({ orderId: input.orderId }, "order was no longer PENDING at cancellation");
      return;
    }
    await deps.events.record(
      tx,
      orderCancelledEvent({ id: input.orderId, userId: input.userId }, reason, at),
    );
    deps.logger.info({ orderId: input.orderId, failureReason: reason }, "order cancelled");
  }

  return defineSaga<PlaceOrderSagaInput>({
    name: placeOrderSagaName,
    steps: [
      {
        name: "reserve",
        timeoutMs: 5000,
        retry: { ...retry, maxAttempts: config.reserveMaxAttempts, isRetryable: isTransient },
        isBusinessFailure: (error) => isRefusal(error, "OUT_OF_STOCK", "PRODUCT_NOT_FOUND"),
        async action(ctx) {
          const reserved = await catalog.reserveStock(
            { reservationId: ctx.input.orderId, lines: [...ctx.input.lines] },
            { signal: ctx.signal, idempotencyKey: ctx.idempotencyKey },
          );
          return { reservationId: reserved.reservationId };
        },
        async compensation(ctx) {
          // Releasing a reservation that never happened leaves a tombstone in the catalog, so a
          // reserve still on its way is refused instead of leaking stock.
          await catalog.releaseStock(
            { reservationId: ctx.input.orderId },
            { signal: ctx.signal, idempotencyKey: ctx.idempotencyKey },
          );
        },
      },
      {
        name: "charge",
        timeoutMs: config.chargeTimeoutMs,
        retry: { ...retry, maxAttempts: config.chargeMaxAttempts, isRetryable: isTransient },
        // A refund voids charges still in flight at the provider: give it room beyond one charge try.
        compensationTimeoutMs: Math.max(5000, 2 * config.chargeTimeoutMs),
        compensationRetry: { ...retry, maxAttempts: 8 },
        isBusinessFailure: (error) => isRefusal(error, "PAYMENT_DECLINED"),
        async action(ctx) {
          const token = await deps.orders(deps.db).paymentToken(ctx.input.orderId);
          if (token === undefined) {
            throw new PlexusError(Code.FailedPrecondition, "the order has no payment token left");
          }
          const { charge } = await payments.charge(
            {
              orderId: ctx.input.orderId,
              amountCents: BigInt(ctx.input.amountCents),
              currency: ctx.input.currency,
              paymentToken: token,
            },
            { idempotencyKey: ctx.idempotencyKey, signal: ctx.signal },
          );
          if (!charge || charge.status !== "SUCCEEDED") {
            throw new PlexusError(Code.Internal, "Charge answered without a succeeded charge");
          }
          const output: ChargeOutput = {
            chargeId: charge.chargeId,
            amountCents: charge.amountCents.toString(),
          };
          return output;
        },
        async compensation(ctx) {
          const { charges } = await payments.refundOrder(
            { orderId: ctx.input.orderId },
            { signal: ctx.signal, idempotencyKey: ctx.idempotencyKey },
          );
          // The order's payment summary: what the refund left (REFUNDED, or FAILED when the
          // provider never charged). Written while the order is still PENDING.
          const last = charges.at(-1);
          if (last && isPaymentStatus(last.status)) {
            await deps
              .orders(deps.db)
              .notePayment(
                ctx.input.orderId,
                { status: last.status, chargeId: last.chargeId, amountCents: last.amountCents },
                now(),
              );
          }
        },
      },
      {
        name: "confirm",
        // Local: the order is confirmed by the completion hook, in the saga's final transaction.
        action: async () => null,
      },
    ],
    onCompleted: complete,
    onCompensated: compensated,
    async onNeedsAttention(event) {
      deps.logger.error(
        {
          orderId: event.input.orderId,
          attention: event.saga.attention,
          failure: event.saga.failure,
        },
        "order saga needs attention; the order stays PENDING until an operator retries it",
      );
    },
  });
}
