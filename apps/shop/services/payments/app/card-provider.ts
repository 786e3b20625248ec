/** What the card provider is asked to charge. */
export interface ProviderChargeRequest {
  /** Sent as the provider's `Idempotency-Key`: the provider charges a key at most once. */
  readonly idempotencyKey: string;
  readonly amountCents: bigint;
  readonly currency: string;
  readonly paymentToken: string;
  /** Our order id, kept by the provider for reconciliation. */
  readonly reference: string;
}

/** The provider's definite answer to a charge. */
export type ProviderChargeOutcome =
  | { readonly kind: "succeeded"; readonly providerChargeId: string }
  | { readonly kind: "declined"; readonly code: string }
  /** The key was voided before the provider charged it: it never will. */
  | { readonly kind: "voided" }
  /** The key was first used with another request. */
  | { readonly kind: "key-reused" };

/** What voiding a key found. */
export type ProviderVoidOutcome =
  /** Nothing was charged under the key, and nothing ever will be. */
  | { readonly kind: "voided" }
  /** The key's charge had been declined: no money moved. */
  | { readonly kind: "declined" }
  /** The key had been charged: that charge is refunded now (or was before). */
  | { readonly kind: "refunded"; readonly providerChargeId: string };

/** Bounds of one provider call. */
export interface ProviderCallOptions {
  /** Abandon the call (and answer `DeadlineExceeded`) after this long. */
  readonly timeoutMs: number;
  /** Abandons the call when the work it belongs to is abandoned. */
  readonly signal?: AbortSignal;
}

/**
 * The card provider, an external system (simulated over HTTP). Every operation is idempotent.
 * Transport failures surface as PlexusError `Unavailable`, a timeout as `DeadlineExceeded`: in
 * both cases the effect is unknown, and asking again (with the same key) finds it out.
 */
export interface CardProvider {
  charge(
    request: ProviderChargeRequest,
    options: ProviderCallOptions,
  ): Promise<ProviderChargeOutcome>;
  /** Refunds a provider charge; refunding it again is a no-op. */
  refund(providerChargeId: string, options: ProviderCallOptions): Promise<void>;
  /**
   * Settles a key whose charge outcome is unknown: refunds its charge if there is one, else makes
   * sure the provider never charges it (a request still in flight with that key fails).
   */
  voidCharge(idempotencyKey: string, options: ProviderCallOptions): Promise<ProviderVoidOutcome>;
}
