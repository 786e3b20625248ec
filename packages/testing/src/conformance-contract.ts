import { create, createFileRegistry, type DescMessage } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

const field = (
  name: string,
  jsonName: string,
  number: number,
  type: FieldDescriptorProto_Type,
) => ({
  name,
  jsonName,
  number,
  type,
  label: FieldDescriptorProto_Label.OPTIONAL,
});

const revisions = {
  /** `message OrderPlaced { string order_id = 1; int64 total_cents = 2; }` */
  1: [
    field("order_id", "orderId", 1, FieldDescriptorProto_Type.STRING),
    field("total_cents", "totalCents", 2, FieldDescriptorProto_Type.INT64),
  ],
  /** Revision 1 and, added compatibly (a new number), `string gift_message = 3;`. */
  2: [
    field("order_id", "orderId", 1, FieldDescriptorProto_Type.STRING),
    field("total_cents", "totalCents", 2, FieldDescriptorProto_Type.INT64),
    field("gift_message", "giftMessage", 3, FieldDescriptorProto_Type.STRING),
  ],
} as const;

/**
 * The conformance suite's event contract, `<pkg>.OrderPlaced`, as producers and consumers built
 * on two revisions of it see it — the same type name (so the same event type and stream), the
 * second adding a field. Built at runtime: each test has a package (stream) of its own.
 */
export function orderPlacedRevision(pkg: string, revision: keyof typeof revisions): DescMessage {
  const registry = createFileRegistry(
    create(FileDescriptorProtoSchema, {
      name: `${pkg.replaceAll(".", "/")}/events.proto`,
      package: pkg,
      syntax: "proto3",
      messageType: [{ name: "OrderPlaced", field: [...revisions[revision]] }],
    }),
    () => undefined,
  );
  const message = registry.getMessage(`${pkg}.OrderPlaced`);
  if (!message) throw new Error(`${pkg}.OrderPlaced did not build`);
  return message;
}
