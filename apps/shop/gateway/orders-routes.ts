import { create } from "@bufbuild/protobuf";
import { Code, PlexusError, validationError, type Client } from "@plexus/core";
import {
  paginate,
  parsePagination,
  parseWith,
  type Gateway,
  type GatewayRequest,
} from "@plexus/gateway";
import { violationsOf } from "@plexus/rpc";
import { z } from "zod";
import {
  GetOrderRequestSchema,
  PlaceOrderRequestSchema,
  type Order,
  type OrdersService,
  type PlaceOrderRequest,
} from "../gen/shop/orders/v1/orders_pb.js";
import type { PaymentsService } from "../gen/shop/payments/v1/payments_pb.js";
import { readIdempotencyKey } from "./idempotency-key.ts";
import { subjectOf } from "./principal.ts";
import { presentCharge, presentOrder, presentOrderSummary } from "./present.ts";

/** The REST body's shape (types, no unknown fields); its limits are orders.proto's. */
const PlaceOrderBody = z.strictObject({
  items: z.array(
    z.strictObject({
      productId: z.string(),
      quantity: z.int("must be an integer"),
    }),
  ),
  paymentMethod: z.strictObject({
    token: z.string(),
  }),
});

/** Where the REST body puts a PlaceOrderRequest field, when not under the same name. */
const restFieldOf: Readonly<Record<string, string>> = { paymentToken: "paymentMethod.token" };

/**
 * Checks a PlaceOrder request against orders.proto's rules here, at the edge, so a bad body is
 * answered without a call, with the REST body's field names (`items[0].quantity`).
 */
function checkPlaceOrder(request: PlaceOrderRequest): void {
  const violations = violationsOf(PlaceOrderRequestSchema, request);
  if (violations.length > 0) {
    throw validationError(
      violations.map((v) => ({ field: restFieldOf[v.field] ?? v.field, message: v.message })),
    );
  }
}

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
  const request = create(GetOrderRequestSchema, {
    orderId: req.params["id"] ?? "",
    userId: subjectOf(req),
  });
  // An id orders.proto refuses names no order: API.md answers unknown ids with 404, never 422.
  if (violationsOf(GetOrderRequestSchema, request).length > 0) throw orderNotFound();
  const { userId } = request;
  let order: Order | undefined;
  try {
    ({ order } = await orders.getOrder(request, { signal: req.signal }));
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
      const request = create(PlaceOrderRequestSchema, {
        userId,
        idempotencyKey,
        items: body.items.map((line) => ({ productId: line.productId, quantity: line.quantity })),
        paymentToken: body.paymentMethod.token,
      });
      checkPlaceOrder(request);
      const placed = await orders.placeOrder(request, { signal: req.signal });
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
