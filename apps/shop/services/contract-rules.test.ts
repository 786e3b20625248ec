import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { violationsOf } from "@plexus/rpc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  GetProductsRequestSchema,
  ListProductsRequestSchema,
  ReleaseStockRequestSchema,
  ReserveStockRequestSchema,
} from "../gen/shop/catalog/v1/catalog_pb.js";
import { ListNotificationsRequestSchema } from "../gen/shop/notifications/v1/notifications_pb.js";
import {
  ListOrderEventsRequestSchema,
  ListOrderHistoryRequestSchema,
  PlaceOrderRequestSchema,
} from "../gen/shop/orders/v1/orders_pb.js";
import {
  ChargeRequestSchema,
  ListChargesRequestSchema,
} from "../gen/shop/payments/v1/payments_pb.js";
import { idempotencyKeyViolation } from "./idempotency-key.ts";

// The services' request rules live in their .proto contracts and are checked at the RPC boundary
// before any handler runs; these tests pin them down (API.md's limits among them).

function fieldsOf<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): string[] {
  return violationsOf(schema, create(schema, init)).map((v) => v.field);
}

const line = { productId: "prd_dune", quantity: 1 };
const order = {
  userId: "usr_1",
  idempotencyKey: "key-1",
  items: [line],
  paymentToken: "tok_visa",
};

describe("orders.proto", () => {
  it("PlaceOrder: 1..100 lines of 1..1000 units, a key, a token", () => {
    expect(fieldsOf(PlaceOrderRequestSchema, order)).toEqual([]);
    expect(fieldsOf(PlaceOrderRequestSchema, { ...order, items: Array(100).fill(line) })).toEqual(
      [],
    );
    expect(fieldsOf(PlaceOrderRequestSchema, { ...order, items: [] })).toEqual(["items"]);
    expect(fieldsOf(PlaceOrderRequestSchema, { ...order, items: Array(101).fill(line) })).toEqual([
      "items",
    ]);
    expect(
      fieldsOf(PlaceOrderRequestSchema, {
        ...order,
        items: [
          { productId: "p", quantity: 0 },
          { productId: "p", quantity: 1001 },
          { productId: "p", quantity: 1000 },
          { productId: "", quantity: 1 },
          { productId: "x".repeat(256), quantity: 1 },
        ],
      }),
    ).toEqual([
      "items[0].quantity",
      "items[1].quantity",
      "items[3].productId",
      "items[4].productId",
    ]);
    for (const paymentToken of ["", "  ", "t".repeat(256)]) {
      expect(fieldsOf(PlaceOrderRequestSchema, { ...order, paymentToken })).toEqual([
        "paymentToken",
      ]);
    }
    expect(fieldsOf(PlaceOrderRequestSchema, { ...order, userId: "" })).toEqual(["userId"]);
  });

  it("the idempotency key is API.md's 1-255 printable ASCII characters (property)", () => {
    const apiRule = /^[\x20-\x7e]{1,255}$/;
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 10 }), fc.stringMatching(/^.{250,260}$/)),
        (idempotencyKey) => {
          expect(idempotencyKeyViolation(idempotencyKey) === undefined).toBe(
            apiRule.test(idempotencyKey),
          );
          expect(fieldsOf(PlaceOrderRequestSchema, { ...order, idempotencyKey })).toEqual(
            apiRule.test(idempotencyKey) ? [] : ["idempotencyKey"],
          );
        },
      ),
    );
  });

  it("lists: page >= 1, limit 1..100; events: position >= 0, limit 0..1000", () => {
    const history = { userId: "u", page: 1, limit: 100 };
    expect(fieldsOf(ListOrderHistoryRequestSchema, history)).toEqual([]);
    expect(fieldsOf(ListOrderHistoryRequestSchema, { ...history, page: 0, limit: 101 })).toEqual([
      "page",
      "limit",
    ]);
    expect(fieldsOf(ListOrderEventsRequestSchema, { afterPosition: 0n, limit: 1000 })).toEqual([]);
    expect(fieldsOf(ListOrderEventsRequestSchema, { afterPosition: -1n, limit: 1001 })).toEqual([
      "afterPosition",
      "limit",
    ]);
  });
});

describe("catalog.proto", () => {
  it("ReserveStock: an id, 1..100 lines of 1..1000 units", () => {
    const reserve = { reservationId: "r", lines: [line] };
    expect(fieldsOf(ReserveStockRequestSchema, reserve)).toEqual([]);
    expect(
      fieldsOf(ReserveStockRequestSchema, {
        reservationId: "r".repeat(256),
        lines: [line, { productId: "", quantity: 0 }, { productId: "c", quantity: 1001 }],
      }),
    ).toEqual(["reservationId", "lines[1].productId", "lines[1].quantity", "lines[2].quantity"]);
    expect(fieldsOf(ReserveStockRequestSchema, { reservationId: "r" })).toEqual(["lines"]);
    expect(fieldsOf(ReleaseStockRequestSchema, { reservationId: "r".repeat(255) })).toEqual([]);
    expect(fieldsOf(ReleaseStockRequestSchema, { reservationId: "" })).toEqual(["reservationId"]);
  });

  it("ListProducts: page, limit and a category of at most 64 characters", () => {
    const list = { page: 1, limit: 10, category: "x".repeat(64) };
    expect(fieldsOf(ListProductsRequestSchema, list)).toEqual([]);
    expect(
      fieldsOf(ListProductsRequestSchema, { page: 0, limit: 0, category: "x".repeat(65) }),
    ).toEqual(["page", "limit", "category"]);
  });

  it("GetProducts: at most 100 ids, and an impossible id is no error (only absent)", () => {
    expect(fieldsOf(GetProductsRequestSchema, { ids: ["", "x".repeat(300)] })).toEqual([]);
    expect(fieldsOf(GetProductsRequestSchema, { ids: Array(101).fill("p") })).toEqual(["ids"]);
    expect(fieldsOf(GetProductsRequestSchema, { ids: ["p\u0000"] })).toEqual(["ids[0]"]);
  });
});

describe("payments.proto", () => {
  const charge = { orderId: "o", amountCents: 1250n, currency: "EUR", paymentToken: "tok_visa" };

  it("Charge: lists every violated field and never echoes the token", () => {
    expect(fieldsOf(ChargeRequestSchema, charge)).toEqual([]);
    const token = "x".repeat(256);
    const violations = violationsOf(
      ChargeRequestSchema,
      create(ChargeRequestSchema, {
        orderId: "",
        amountCents: -1n,
        currency: "Eur",
        paymentToken: token,
      }),
    );
    expect(violations.map((v) => v.field)).toEqual([
      "orderId",
      "amountCents",
      "currency",
      "paymentToken",
    ]);
    expect(JSON.stringify(violations)).not.toContain(token);
  });

  it("accepts exactly amounts > 0 and three upper-case letters (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.string(),
        (amountCents, currency) => {
          const fields = fieldsOf(ChargeRequestSchema, { ...charge, amountCents, currency });
          expect(fields.includes("amountCents")).toBe(amountCents <= 0n);
          expect(fields.includes("currency")).toBe(!/^[A-Z]{3}$/.test(currency));
        },
      ),
    );
  });

  it("order ids are 1 to 255 characters", () => {
    expect(fieldsOf(ListChargesRequestSchema, { orderId: "o".repeat(255) })).toEqual([]);
    expect(fieldsOf(ListChargesRequestSchema, { orderId: "" })).toEqual(["orderId"]);
    expect(fieldsOf(ListChargesRequestSchema, { orderId: "o".repeat(256) })).toEqual(["orderId"]);
  });
});

describe("notifications.proto", () => {
  it("a user, page >= 0 and limit 0..100 (0 = the defaults)", () => {
    expect(fieldsOf(ListNotificationsRequestSchema, { userId: "u" })).toEqual([]);
    expect(fieldsOf(ListNotificationsRequestSchema, { userId: "", page: -1, limit: 101 })).toEqual([
      "userId",
      "limit",
      "page",
    ]);
  });
});
