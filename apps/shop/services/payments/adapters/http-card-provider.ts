import { Code, PlexusError, type HttpUpstream, type HttpUpstreamResponse } from "@plexus/core";
import type {
  CardProvider,
  ProviderCallOptions,
  ProviderChargeOutcome,
  ProviderVoidOutcome,
} from "../app/card-provider.ts";
import { providerTimedOut, providerUnavailable } from "../domain/payment-errors.ts";
import {
  chargesPath,
  voidsPath,
  type ChargeBody,
  type ProviderCharge,
  type ProviderErrorBody,
  type VoidResult,
} from "../provider/provider-api.ts";

export interface HttpCardProviderOptions {
  /**
   * The provider's HTTP upstream (`env.http.upstream("card-provider", { url })`): its host runs
   * every call through the client pipeline (breaker, metrics, context) and owns its pool.
   */
  readonly upstream: HttpUpstream;
}

/** The provider's error code in an error answer, if the body is one. */
function errorCode(answer: HttpUpstreamResponse): string | undefined {
  try {
    return (answer.json() as Partial<ProviderErrorBody> | undefined)?.error?.code;
  } catch {
    return undefined;
  }
}

function unexpected(status: number): PlexusError {
  return new PlexusError(Code.Internal, `unexpected answer from the payment provider (${status})`);
}

/**
 * What a failed call means to payments: the caller giving up is its own reason; the provider
 * running out of time is `providerTimedOut`; any other failure (a 5xx, 408 or 429, a refused
 * connection, an open circuit) is `providerUnavailable`. The effect is unknown in the last two.
 */
function providerError(error: unknown, call: ProviderCallOptions): PlexusError {
  const failure = PlexusError.from(error);
  if (call.signal?.aborted || failure.code === Code.Canceled) return failure;
  if (failure.code === Code.DeadlineExceeded) return providerTimedOut();
  return providerUnavailable(failure);
}

/**
 * A {@link CardProvider} speaking the provider's HTTP API through an {@link HttpUpstream}. Every
 * call is bounded by its `timeoutMs` and its signal; the provider's definite answers (200, 402
 * declined, 409 `charge_voided`, 422 `idempotency_key_reused`) map to outcomes, a 5xx or a
 * connection failure to `Unavailable` and a timeout to `DeadlineExceeded` (the outcome is
 * unknown in both cases; the caller asks again with the same key).
 */
export function createHttpCardProvider(options: HttpCardProviderOptions): CardProvider {
  const { upstream } = options;

  async function post(
    operation: string,
    path: string,
    body: unknown,
    call: ProviderCallOptions,
    idempotencyKey?: string,
  ): Promise<HttpUpstreamResponse> {
    try {
      return await upstream.request({
        method: "POST",
        path,
        operation,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        timeoutMs: call.timeoutMs,
        ...(call.signal ? { signal: call.signal } : {}),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
    } catch (error) {
      throw providerError(error, call);
    }
  }

  return {
    async charge(request, call): Promise<ProviderChargeOutcome> {
      const body: ChargeBody = {
        amount: request.amountCents.toString(),
        currency: request.currency,
        source: request.paymentToken,
        reference: request.reference,
      };
      const answer = await post("charge", chargesPath, body, call, request.idempotencyKey);
      if (answer.status === 200) {
        const charge = answer.json() as ProviderCharge;
        return { kind: "succeeded", providerChargeId: charge.id };
      }
      const code = errorCode(answer);
      if (answer.status === 402) return { kind: "declined", code: code ?? "card_declined" };
      if (answer.status === 409 && code === "charge_voided") return { kind: "voided" };
      if (answer.status === 422 && code === "idempotency_key_reused") return { kind: "key-reused" };
      throw unexpected(answer.status);
    },
    async refund(providerChargeId, call) {
      const answer = await post(
        "refund",
        `${chargesPath}/${encodeURIComponent(providerChargeId)}/refund`,
        {},
        call,
      );
      if (answer.status !== 200) throw unexpected(answer.status);
    },
    async voidCharge(idempotencyKey, call): Promise<ProviderVoidOutcome> {
      const answer = await post("void", voidsPath, { idempotencyKey }, call);
      if (answer.status !== 200) throw unexpected(answer.status);
      const result = answer.json() as VoidResult;
      if (result.outcome === "refunded" && result.charge) {
        return { kind: "refunded", providerChargeId: result.charge.id };
      }
      if (result.outcome === "declined") return { kind: "declined" };
      if (result.outcome === "voided") return { kind: "voided" };
      throw unexpected(answer.status);
    },
  };
}
