import { create, createFileRegistry, type Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

/*
 * The contracts of the host tests' tiny topology, built at runtime so the host package needs no
 * generated code of its own:
 *
 *   message Entry { string key = 1; int32 amount = 2; }     // also the event test.tally.v1.Entry
 *   message Total { string key = 1; int32 total = 2; }
 *   service TallyService { rpc Add(Entry) returns (Total); }   // writes, publishes the entry
 *   service AuditService { rpc Count(Entry) returns (Total); } // what its consumer recorded
 */

const field = (name: string, number: number, type: FieldDescriptorProto_Type) => ({
  name,
  jsonName: name,
  number,
  type,
  label: FieldDescriptorProto_Label.OPTIONAL,
});

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/tally/v1/tally.proto",
    package: "test.tally.v1",
    syntax: "proto3",
    messageType: [
      {
        name: "Entry",
        field: [
          field("key", 1, FieldDescriptorProto_Type.STRING),
          field("amount", 2, FieldDescriptorProto_Type.INT32),
        ],
      },
      {
        name: "Total",
        field: [
          field("key", 1, FieldDescriptorProto_Type.STRING),
          field("total", 2, FieldDescriptorProto_Type.INT32),
        ],
      },
    ],
    service: [
      {
        name: "TallyService",
        method: [
          { name: "Add", inputType: ".test.tally.v1.Entry", outputType: ".test.tally.v1.Total" },
        ],
      },
      {
        name: "AuditService",
        method: [
          { name: "Count", inputType: ".test.tally.v1.Entry", outputType: ".test.tally.v1.Total" },
        ],
      },
    ],
  }),
  () => undefined,
);

export type Entry = Message<"test.tally.v1.Entry"> & { key: string; amount: number };
export type Total = Message<"test.tally.v1.Total"> & { key: string; total: number };

function lookup<T>(kind: "getMessage" | "getService", name: string): T {
  const found = registry[kind](name);
  if (!found) throw new Error(`test contract ${name} missing`);
  return found as T;
}

export const EntrySchema = lookup<GenMessage<Entry>>("getMessage", "test.tally.v1.Entry");
export const TotalSchema = lookup<GenMessage<Total>>("getMessage", "test.tally.v1.Total");
type Unary = { methodKind: "unary"; input: typeof EntrySchema; output: typeof TotalSchema };

export const TallyService = lookup<GenService<{ add: Unary }>>(
  "getService",
  "test.tally.v1.TallyService",
);
export const AuditService = lookup<GenService<{ count: Unary }>>(
  "getService",
  "test.tally.v1.AuditService",
);
