import { create, createFileRegistry, type DescMessage } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

/*
 * A tiny event contract for the tests, built at runtime so the messaging package needs no
 * generated code of its own: test.orders.v1.OrderPlaced { string order_id = 1; int64 total_cents = 2; }
 */
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/orders/v1/events.proto",
    package: "test.orders.v1",
    syntax: "proto3",
    messageType: [
      {
        name: "OrderPlaced",
        field: [
          {
            name: "order_id",
            jsonName: "orderId",
            number: 1,
            type: FieldDescriptorProto_Type.STRING,
            label: FieldDescriptorProto_Label.OPTIONAL,
          },
          {
            name: "total_cents",
            jsonName: "totalCents",
            number: 2,
            type: FieldDescriptorProto_Type.INT64,
            label: FieldDescriptorProto_Label.OPTIONAL,
          },
        ],
      },
      {
        name: "OrderShipped",
        field: [
          {
            name: "order_id",
            jsonName: "orderId",
            number: 1,
            type: FieldDescriptorProto_Type.STRING,
            label: FieldDescriptorProto_Label.OPTIONAL,
          },
        ],
      },
    ],
  }),
  () => undefined,
);

function message(name: string): DescMessage {
  const desc = registry.getMessage(name);
  if (!desc) throw new Error(`test schema ${name} missing`);
  return desc;
}

export const OrderPlacedSchema = message("test.orders.v1.OrderPlaced");
export const OrderShippedSchema = message("test.orders.v1.OrderShipped");
