import { Code, PlexusError, type Client } from "@plexus/core";
import {
  paginate,
  parsePagination,
  parseWith,
  type Gateway,
  type GatewayRequest,
} from "@plexus/gateway";
import { z } from "zod";
import type { Order, OrdersService } from "../gen/shop/orders/v1/orders_pb.js";
import type { PaymentsService } from "../gen/shop/payments/v1/payments_pb.js";
import { readIdempotencyKey } from "./idempotency-key.ts";
import { subjectOf } from "./principal.ts";
import { presentCharge, presentOrder, presentOrderSummary } from "./present.ts";

const maxLines = 100;
const maxQuantity = 1000;
/** Product ids, order ids and card tokens are short; the orders service bounds them the same. */
const maxIdLength = 255;

const BoundedId = z
  .string()
  .min(1, "must not be empty")
  .max(maxIdLength, `must be at most ${maxIdLength} characters`);

const PlaceOrderBody = z.strictObject({
  items: z
    .array(
      z.strictObject({
        productId: BoundedId,
        quantity: z
          .int("must be an integer")
          .min(1, "must be at least 1")
          .max(maxQuantity, `must be at most ${maxQuantity}`),
      }),
    )
    .min(1, "must have at least one line")
    .max(maxLines, `must have at most ${maxLines} lines`),
  paymentMethod: z.strictObject({
    token: BoundedId,
  }),
});

function orderNotFound(): PlexusError {
  return new PlexusError(Code.NotFound, "order not found", { reason: "ORDER_NOT_FOUND" });
}

/**
 * Reads an order of the caller. Someone else's order answers exactly like an unknown one: a 404
 * must not reveal that it exists. The orders service checks ownership already; the gateway checks
 * again, since it is the edge that promises it.
 */
async function readOwnOrder(
  orders: Client<typeof OrdersService>,
  req: GatewayRequest,
): Promise<Order> {
  const orderId = req.params["id"] ?? "";
  if (orderId === "" || orderId.length > maxIdLength) throw orderNotFound();
  const userId = subjectOf(req);
  let order: Order | undefined;
  try {
    ({ order } = await orders.getOrder({ orderId, userId }, { signal: req.signal }));
  } catch (error) {
    if (error instanceof PlexusError && error.code === Code.NotFound) throw orderNotFound();
    throw error;
  }
  if (!order || order.userId !== userId) throw orderNotFound();
  return order;
}

/** API.md "Orders (the saga)". */
export function addOrdersRoutes(
  gateway: Gateway,
  orders: Client<typeof OrdersService>,
  payments: Client<typeof PaymentsService>,
): void {
  gateway.route({
    method: "POST",
    path: "/api/v1/orders",
    auth: true,
    handler: async (req) => {
      const userId = subjectOf(req);
      const idempotencyKey = readIdempotencyKey(req);
      const body = parseWith(PlaceOrderBody, req.body);
      const placed = await orders.placeOrder(
        {
          userId,
          idempotencyKey,
          items: body.items.map((line) => ({ productId: line.productId, quantity: line.quantity })),
          paymentToken: body.paymentMethod.token,
        },
        { signal: req.signal },
      );
      return {
        status: 202,
        headers: { location: `/api/v1/orders/${encodeURIComponent(placed.orderId)}` },
        body: { data: { id: placed.orderId, status: placed.status } },
      };
    },
  });

  gateway.route({
    method: "GET",
    path: "/api/v1/orders/:id",
    auth: true,
    handler: async (req) => ({ body: { data: presentOrder(await readOwnOrder(orders, req)) } }),
  });

  gateway.route({
    method: "GET",
    path: "/api/v1/orders/:id/payments",
    auth: true,
    handler: async (req) => {
      const order = await readOwnOrder(orders, req);
      const { charges } = await payments.listCharges({ orderId: order.id }, { signal: req.signal });
      return { body: { data: charges.map(presentCharge) } };
    },
  });

  gateway.route({
    method: "GET",
    path: "/api/v1/me/orders",
    auth: true,
    handler: async (req) => {
      const { page, limit } = parsePagination(req.query);
      const { orders: history, total } = await orders.listOrderHistory(
        { userId: subjectOf(req), page, limit },
        { signal: req.signal },
      );
      return { body: paginate(history.map(presentOrderSummary), { page, limit, total }, req.url) };
    },
  });
}
