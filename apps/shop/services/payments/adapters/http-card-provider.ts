import { Code, PlexusError, systemClock, type Clock } from "@plexus/core";
import { Pool } from "undici";
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
  /** The provider's base URL (`http://host:port`). */
  readonly url: string;
  /**
   * Connections kept open to the provider. Default 16: a charge holds its connection for up to
   * the charge timeout, so this bounds how many slow charges run at once per process.
   */
  readonly connections?: number;
  /** Time source of per-call timeouts. Default: the system clock. */
  readonly clock?: Clock;
}

/** The card provider over HTTP, with its connection pool. */
export interface HttpCardProvider extends CardProvider, AsyncDisposable {
  /** Closes the pool once its requests are answered. */
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

function errorCode(body: unknown): string | undefined {
  return (body as Partial<ProviderErrorBody> | undefined)?.error?.code;
}

function unexpected(status: number): PlexusError {
  return new PlexusError(Code.Internal, `unexpected answer from the payment provider (${status})`);
}

/**
 * A {@link CardProvider} speaking the provider's HTTP API through an undici Pool (keep-alive).
 * Every call is bounded by its `timeoutMs` and its signal; a 5xx, a refused connection or a
 * reset is `Unavailable`, a timeout `DeadlineExceeded` (the outcome is unknown in both cases).
 */
export function createHttpCardProvider(options: HttpCardProviderOptions): HttpCardProvider {
  const clock = options.clock ?? systemClock;
  const pool = new Pool(options.url, { connections: options.connections ?? 16 });

  async function post(
    path: string,
    body: unknown,
    call: ProviderCallOptions,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const outer = call.signal;
    if (outer?.aborted) throw PlexusError.from(outer.reason);
    const controller = new AbortController();
    let timedOut = false;
    const timer = clock.setTimeout(() => {
      timedOut = true;
      controller.abort(providerTimedOut());
    }, call.timeoutMs);
    const onAbort = (): void => controller.abort(outer?.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await pool.request({
        path,
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const text = await response.body.text();
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (response.statusCode >= 500) throw providerUnavailable();
      return { status: response.statusCode, body: parsed };
    } catch (error) {
      if (timedOut) throw providerTimedOut();
      if (outer?.aborted) throw PlexusError.from(outer.reason);
      if (error instanceof PlexusError) throw error;
      throw providerUnavailable(error);
    } finally {
      clock.clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  const close = (): Promise<void> => pool.close();

  return {
    async charge(request, call): Promise<ProviderChargeOutcome> {
      const body: ChargeBody = {
        amount: request.amountCents.toString(),
        currency: request.currency,
        source: request.paymentToken,
        reference: request.reference,
      };
      const answer = await post(chargesPath, body, call, {
        "idempotency-key": request.idempotencyKey,
      });
      const code = errorCode(answer.body);
      if (answer.status === 200) {
        const charge = answer.body as ProviderCharge;
        return { kind: "succeeded", providerChargeId: charge.id };
      }
      if (answer.status === 402) return { kind: "declined", code: code ?? "card_declined" };
      if (answer.status === 409 && code === "charge_voided") return { kind: "voided" };
      if (answer.status === 422 && code === "idempotency_key_reused") return { kind: "key-reused" };
      throw unexpected(answer.status);
    },
    async refund(providerChargeId, call) {
      const answer = await post(
        `${chargesPath}/${encodeURIComponent(providerChargeId)}/refund`,
        {},
        call,
      );
      if (answer.status !== 200) throw unexpected(answer.status);
    },
    async voidCharge(idempotencyKey, call): Promise<ProviderVoidOutcome> {
      const answer = await post(voidsPath, { idempotencyKey }, call);
      if (answer.status !== 200) throw unexpected(answer.status);
      const result = answer.body as VoidResult;
      if (result.outcome === "refunded" && result.charge) {
        return { kind: "refunded", providerChargeId: result.charge.id };
      }
      if (result.outcome === "declined") return { kind: "declined" };
      if (result.outcome === "voided") return { kind: "voided" };
      throw unexpected(answer.status);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
