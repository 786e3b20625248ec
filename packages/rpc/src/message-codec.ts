import {
  fromBinary,
  fromJsonString,
  toBinary,
  toJsonString,
  type DescMessage,
  type Message,
} from "@bufbuild/protobuf";

/**
 * A message's encoding on the wire, whatever the protocol: binary protobuf or proto3 JSON
 * (Connect's `application/proto` and `application/json`, gRPC's `application/grpc+proto` and
 * `application/grpc+json`).
 */
export type Codec = "proto" | "json";

/** Decodes one message; throws on malformed bytes. JSON from newer peers may carry unknown fields. */
export function decodeMessage(codec: Codec, schema: DescMessage, bytes: Uint8Array): Message {
  return codec === "proto"
    ? fromBinary(schema, bytes)
    : fromJsonString(
        schema,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(),
        { ignoreUnknownFields: true },
      );
}

/** Encodes one message; throws if it cannot be (a value out of its field's range). */
export function encodeMessage(codec: Codec, schema: DescMessage, message: Message): Uint8Array {
  return codec === "proto" ? toBinary(schema, message) : Buffer.from(toJsonString(schema, message));
}
