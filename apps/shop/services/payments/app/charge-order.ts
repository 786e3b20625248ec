import { randomUUID } from "node:crypto";
import { Code, PlexusError } from "@plexus/core";
import { failureReasons, type Charge } from "../domain/charge.ts";
import {
  validateChargeRequest,
  type ChargeInput,
  type ChargeRequest,
} from "../domain/charge-request.ts";
import {
  chargeFailure,
  idempotencyKeyReused,
  orderRefunded,
  paymentDeclined,
} from "../domain/payment-errors.ts";
import { providerCallOptions, type CallBounds, type PaymentsDeps } from "./payments-deps.ts";
import { settlePending } from "./settle-pending.ts";
import { nowIso } from "../../now-iso.ts";

function sameRequest(charge: Charge, request: ChargeRequest): boolean {
  return (
    charge.orderId === request.orderId &&
    charge.amountCents === request.amountCents &&
    charge.currency === request.currency
  );
}

async function reread(deps: PaymentsDeps, key: string): Promise<Charge> {
  const charge = await deps.charges.findByKey(key);
  if (!charge) throw new PlexusError(Code.Internal, "a recorded charge vanished");
  return charge;
}

/** A final charge's answer: itself when SUCCEEDED, else the error that says why not. */
function answer(charge: Charge): Charge {
  if (charge.status === "SUCCEEDED") return charge;
  throw chargeFailure(charge);
}

/**
 * Asks the provider about a PENDING charge (with its key, so the provider charges it at most
 * once) and records the outcome.
 */
async function decide(
  deps: PaymentsDeps,
  charge: Charge,
  request: ChargeRequest,
  bounds: CallBounds,
): Promise<Charge> {
  const other = await deps.charges.findSucceeded(charge.orderId);
  // This very charge, settled by a concurrent duplicate since it was read.
  if (other?.chargeId === charge.chargeId) return other;
  if (other) {
    // The order is paid under another key: make sure this one never takes money too.
    await settlePending(deps, charge, bounds, failureReasons.duplicate);
    return other;
  }
  // RefundOrder settles the PENDING charges of a refunded order; a retry must not race it.
  if (await deps.charges.isOrderRefunded(charge.orderId)) throw orderRefunded();
  const outcome = await deps.provider.charge(
    {
      idempotencyKey: charge.idempotencyKey,
      amountCents: charge.amountCents,
      currency: charge.currency,
      paymentToken: request.paymentToken,
      reference: charge.orderId,
    },
    providerCallOptions(deps, bounds),
  );
  const at = nowIso(deps.clock);
  switch (outcome.kind) {
    case "succeeded": {
      const marked = await deps.charges.markSucceeded(
        charge.chargeId,
        outcome.providerChargeId,
        at,
      );
      if (marked === "updated") {
        deps.logger.info(
          { orderId: charge.orderId, chargeId: charge.chargeId, amountCents: charge.amountCents },
          "charge succeeded",
        );
        return reread(deps, charge.idempotencyKey);
      }
      if (marked === "order-has-another") {
        // Two keys raced for one order and the provider charged both: keep the first, give
        // this money back at once.
        await deps.provider.refund(outcome.providerChargeId, providerCallOptions(deps, bounds));
        await deps.charges.markRefunded(
          charge.chargeId,
          outcome.providerChargeId,
          nowIso(deps.clock),
          failureReasons.duplicate,
        );
        deps.logger.warn(
          { orderId: charge.orderId, chargeId: charge.chargeId },
          "duplicate charge of an order refunded",
        );
        const kept = await deps.charges.findSucceeded(charge.orderId);
        if (kept) return kept;
      }
      // Settled meanwhile by a concurrent call (e.g. RefundOrder): its record is the answer.
      return answer(await reread(deps, charge.idempotencyKey));
    }
    case "declined":
      await deps.charges.markFailed(charge.chargeId, failureReasons.declined, at);
      deps.logger.info({ orderId: charge.orderId, chargeId: charge.chargeId }, "charge declined");
      if (outcome.code === "invalid_token") throw paymentDeclined("the payment token is invalid");
      return answer(await reread(deps, charge.idempotencyKey));
    case "voided":
      await deps.charges.markFailed(charge.chargeId, failureReasons.voided, at);
      return answer(await reread(deps, charge.idempotencyKey));
    case "key-reused":
      // The provider saw this key with another card token first.
      throw idempotencyKeyReused();
  }
}

/**
 * Charges an order once per idempotency key (Charge in payments.proto).
 *
 * The charge is recorded PENDING before the provider is asked, so a crash or a timeout leaves a
 * trace that the same key (a retry) or RefundOrder resolves. The same key again answers the
 * recorded outcome when it is final, and otherwise asks the provider again with the same key:
 * the provider charges a key at most once, so a retry after a timeout finds the charge the
 * provider made meanwhile instead of making another. An order never has two SUCCEEDED charges:
 * a new key for an order that is paid answers the existing charge.
 *
 * @throws PlexusError `InvalidArgument` (no key; bad fields), `FailedPrecondition`
 *   (`PAYMENT_DECLINED`, `IDEMPOTENCY_KEY_REUSED`, `ORDER_REFUNDED`, `CHARGE_REFUNDED`,
 *   `PAYMENT_VOIDED`), `Unavailable` or `DeadlineExceeded` (provider down or slow: retry with
 *   the same key).
 */
export async function chargeOrder(
  deps: PaymentsDeps,
  input: ChargeInput,
  bounds: CallBounds,
): Promise<Charge> {
  const request = validateChargeRequest(input);
  let charge = await deps.charges.findByKey(request.idempotencyKey);
  if (!charge) {
    const paid = await deps.charges.findSucceeded(request.orderId);
    if (paid) return paid;
    const at = nowIso(deps.clock);
    const fresh: Charge = {
      chargeId: `ch_${randomUUID()}`,
      orderId: request.orderId,
      idempotencyKey: request.idempotencyKey,
      amountCents: request.amountCents,
      currency: request.currency,
      status: "PENDING",
      failureReason: undefined,
      providerChargeId: undefined,
      createdAt: at,
      updatedAt: at,
    };
    const inserted = await deps.charges.insertPending(fresh);
    if (inserted === "order-refunded") throw orderRefunded();
    // A concurrent duplicate recorded the key first: continue with its charge.
    charge = inserted === "created" ? fresh : await reread(deps, request.idempotencyKey);
  }
  if (!sameRequest(charge, request)) throw idempotencyKeyReused();
  return charge.status === "PENDING" ? decide(deps, charge, request, bounds) : answer(charge);
}
