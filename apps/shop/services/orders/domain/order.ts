/** Where an order stands. PENDING until its saga ends; then CONFIRMED or CANCELLED, for good. */
export type OrderStatus = "PENDING" | "CONFIRMED" | "CANCELLED";

/** Why a CANCELLED order was cancelled (API.md "Orders (the saga)"). */
export const failureReasons = {
  /** Stock could not be reserved (or a product is gone); nothing was charged. */
  outOfStock: "OUT_OF_STOCK",
  /** The card was declined; the reserved stock was released. */
  paymentDeclined: "PAYMENT_DECLINED",
  /** The provider stayed down or slow past the retry policy; stock released, no charge kept. */
  paymentUnavailable: "PAYMENT_UNAVAILABLE",
  /**
   * The catalog could not be reached to reserve stock (past the retry policy); nothing was
   * charged. Not in API.md's list: it is the honest name of the one case it does not cover.
   */
  stockUnavailable: "STOCK_UNAVAILABLE",
} as const;

export type FailureReason = (typeof failureReasons)[keyof typeof failureReasons];

/** One line of an order, priced when the order was placed. */
export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPriceCents: bigint;
}

/** The status of an order's payment as the order records it. */
export type PaymentStatus = "PENDING" | "SUCCEEDED" | "REFUNDED" | "FAILED";

/** What the order knows of its payment. */
export interface PaymentSummary {
  readonly status: PaymentStatus;
  /** Absent when no charge is known (a decline answers no charge id). */
  readonly chargeId: string | undefined;
  readonly amountCents: bigint;
}

/** An order as stored. */
export interface Order {
  readonly id: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly lines: readonly OrderLine[];
  readonly totalCents: bigint;
  readonly currency: string;
  readonly failureReason: string | undefined;
  /** Undefined when nothing is known (a cancelled order that never reached payment). */
  readonly payment: PaymentSummary | undefined;
  /** RFC 3339. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Order ids: `ord_` and a UUID. Anything else cannot be an order (NOT_FOUND without a query). */
const orderIdPattern = /^ord_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isOrderId(id: string): boolean {
  return orderIdPattern.test(id);
}

/** The sum of the lines' prices. */
export function totalOf(lines: readonly OrderLine[]): bigint {
  return lines.reduce((sum, line) => sum + line.unitPriceCents * BigInt(line.quantity), 0n);
}

/** Units in an order (the history's `itemCount`): the sum of the lines' quantities. */
export function itemCountOf(lines: readonly { readonly quantity: number }[]): number {
  return lines.reduce((sum, line) => sum + line.quantity, 0);
}
