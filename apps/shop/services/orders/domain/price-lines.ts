import { validationError, type FieldViolation } from "@plexus/core";
import type { OrderLine } from "./order.ts";

/** What pricing needs of a catalog product. */
export interface PricedProduct {
  readonly id: string;
  readonly priceCents: bigint;
  readonly currency: string;
}

/** The lines of an order with their unit prices, and the order's one currency. */
export interface PricedLines {
  readonly lines: readonly OrderLine[];
  readonly currency: string;
}

/**
 * Prices each line from the catalog's answer. An unknown product is the client's mistake (it
 * named a product that does not exist), so it is a validation error on that line, as is a line
 * whose product is priced in another currency than the first line's (an order is paid in one
 * currency).
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` naming the offending lines.
 */
export function priceLines(
  items: readonly { readonly productId: string; readonly quantity: number }[],
  products: readonly PricedProduct[],
): PricedLines {
  const byId = new Map(products.map((p) => [p.id, p]));
  const violations: FieldViolation[] = [];
  const lines: OrderLine[] = [];
  let currency: string | undefined;
  items.forEach((item, i) => {
    const product = byId.get(item.productId);
    if (!product) {
      violations.push({ field: `items[${i}].productId`, message: "no such product" });
      return;
    }
    currency ??= product.currency;
    if (product.currency !== currency) {
      violations.push({
        field: `items[${i}].productId`,
        message: `is priced in ${product.currency}; every line of an order must be in ${currency}`,
      });
      return;
    }
    lines.push({
      productId: item.productId,
      quantity: item.quantity,
      unitPriceCents: product.priceCents,
    });
  });
  if (violations.length > 0 || currency === undefined) throw validationError(violations);
  return { lines, currency };
}
