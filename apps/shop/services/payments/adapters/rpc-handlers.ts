import type { MessageInitShape } from "@bufbuild/protobuf";
import { remainingMs, type HandlerContext, type ServiceHandlers } from "@plexus/core";
import type { ChargeSchema, PaymentsService } from "../../../gen/shop/payments/v1/payments_pb.js";
import { chargeOrder } from "../app/charge-order.ts";
import { listCharges } from "../app/list-charges.ts";
import type { CallBounds, PaymentsDeps } from "../app/payments-deps.ts";
import { refundOrder } from "../app/refund-order.ts";
import type { Charge } from "../domain/charge.ts";

function toMessage(charge: Charge): MessageInitShape<typeof ChargeSchema> {
  return {
    chargeId: charge.chargeId,
    orderId: charge.orderId,
    status: charge.status,
    amountCents: charge.amountCents,
    currency: charge.currency,
    failureReason: charge.failureReason ?? "",
  };
}

function boundsOf(deps: PaymentsDeps, ctx: HandlerContext): CallBounds {
  return { remainingMs: remainingMs(ctx.context, deps.clock), signal: ctx.signal };
}

/**
 * The PaymentsService contract. Requests are never logged: they carry card tokens. The
 * idempotency key of Charge comes from the call's context (set by the RPC server from the
 * `idempotency-key` header, or by an in-process caller's `idempotencyKey` option), else from the
 * header itself.
 */
export function createPaymentsHandlers(
  deps: PaymentsDeps,
): ServiceHandlers<typeof PaymentsService> {
  return {
    async charge(request, ctx) {
      const charge = await chargeOrder(
        deps,
        {
          idempotencyKey:
            ctx.context.idempotencyKey ?? ctx.header.get("idempotency-key") ?? undefined,
          orderId: request.orderId,
          amountCents: request.amountCents,
          currency: request.currency,
          paymentToken: request.paymentToken,
        },
        boundsOf(deps, ctx),
      );
      return { charge: toMessage(charge) };
    },
    async refundOrder(request, ctx) {
      const charges = await refundOrder(deps, request.orderId, boundsOf(deps, ctx));
      return { charges: charges.map(toMessage) };
    },
    async listCharges(request) {
      return { charges: (await listCharges(deps.charges, request.orderId)).map(toMessage) };
    },
  };
}
