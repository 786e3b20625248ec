/**
 * The one call every contender of the `rpc` suite makes: `GetProduct` of the shop's catalog
 * contract, for one fixed product, so each sends and answers the same message. Binary contenders
 * (de)serialise the generated `@bufbuild/protobuf` types; JSON contenders send the same messages
 * in their proto3 JSON form.
 */
import { create, toJson, type JsonObject } from "@bufbuild/protobuf";
import {
  CatalogService,
  GetProductRequestSchema,
  GetProductResponseSchema,
  type GetProductRequest,
  type GetProductResponse,
} from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";

export { CatalogService, GetProductRequestSchema, GetProductResponseSchema };
export type { GetProductRequest, GetProductResponse };

/** The product asked for on every call. */
export const productId = "prd_bench-kettle";

/** The request message of every call. */
export const request: GetProductRequest = create(GetProductRequestSchema, { id: productId });

/** The answer of every server, as a message... */
export const response: GetProductResponse = create(GetProductResponseSchema, {
  product: {
    id: productId,
    name: "Gooseneck kettle",
    category: "kitchen",
    priceCents: 4_999n,
    currency: "EUR",
    stock: 42,
  },
});

/** ...and in its proto3 JSON form, for the JSON contenders. */
export const responseJson = toJson(GetProductResponseSchema, response) as JsonObject;
export const requestJson = toJson(GetProductRequestSchema, request) as JsonObject;

/** Fails the run if a server answered something else: a bench must not time wrong answers. */
export function checkProductId(id: unknown): void {
  if (id !== productId) throw new Error(`unexpected answer: product ${String(id)}`);
}
