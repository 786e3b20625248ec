/*
 * The wire contract of the simulated card provider (JSON over HTTP/1.1), shaped like a typical
 * card API. Amounts travel as decimal strings (int64 does not fit a JSON number).
 *
 *   POST /v1/charges              Idempotency-Key: <key>   body ChargeBody
 *     200 ProviderCharge          charged (now, or earlier under the same key)
 *     402 ProviderErrorBody       card_error: card_declined | invalid_token (final for the key)
 *     409 ProviderErrorBody       idempotency_error: charge_voided (the key was voided first)
 *     422 ProviderErrorBody       idempotency_error: idempotency_key_reused (another request)
 *     503 ProviderErrorBody       api_error: temporarily_unavailable (retry with the same key)
 *   POST /v1/charges/{id}/refund  200 ProviderCharge (status refunded; idempotent), 404, 409
 *   POST /v1/voids                body VoidBody → 200 VoidResult
 */

/** Path prefix of charges. */
export const chargesPath = "/v1/charges";
/** Path of voids. */
export const voidsPath = "/v1/voids";

export interface ChargeBody {
  /** Minor units, as a decimal string. */
  readonly amount: string;
  readonly currency: string;
  /** The card token. */
  readonly source: string;
  /** The merchant's reference (our order id). */
  readonly reference: string;
}

export interface ProviderCharge {
  /** `pch_<uuid>`. */
  readonly id: string;
  readonly status: "succeeded" | "refunded";
  readonly amount: string;
  readonly currency: string;
  readonly reference: string;
}

export type ProviderErrorType =
  "card_error" | "idempotency_error" | "api_error" | "invalid_request_error" | "not_found";

export interface ProviderErrorBody {
  readonly error: {
    readonly type: ProviderErrorType;
    readonly code: string;
    readonly message: string;
  };
}

export interface VoidBody {
  /** The idempotency key of the charge to void. */
  readonly idempotencyKey: string;
}

export interface VoidResult {
  /**
   * `voided`: nothing was charged under the key and nothing ever will be; `declined`: the key's
   * charge was declined; `refunded`: the key's charge existed and is refunded now (or was).
   */
  readonly outcome: "voided" | "declined" | "refunded";
  readonly charge?: ProviderCharge;
}
