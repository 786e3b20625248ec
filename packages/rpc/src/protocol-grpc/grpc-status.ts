import { create, toBinary } from "@bufbuild/protobuf";
import type { PlexusError } from "@plexus/core";
import { errorDetails } from "../error-details.ts";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { writePushbackHeaders } from "../pushback-headers.ts";
import { headerGrpcMessage, headerGrpcStatus, headerGrpcStatusDetails } from "./grpc-protocol.ts";

/** The trailers of a call that succeeded. */
export const okStatus: Readonly<Record<string, string>> = { [headerGrpcStatus]: "0" };

const typeUrlPrefix = "type.googleapis.com/";

/**
 * `grpc-message`'s percent-encoding (PROTOCOL-HTTP2.md): the message's UTF-8 bytes, those outside
 * printable ASCII and `%` itself as `%XX`, so any message fits a header value.
 */
export function encodeGrpcMessage(message: string): string {
  // The common case, a plain ASCII message, is written as is.
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * A failed call's status as gRPC trailers (or the headers of a trailers-only response): its code
 * (core's codes are gRPC's numbers), its message, and a `google.rpc.Status` in
 * `grpc-status-details-bin` carrying the same `ErrorInfo` and `BadRequest` details Connect errors
 * carry; plus the pushback headers every protocol writes (`grpc-retry-pushback-ms` is gRPC's own).
 */
export function grpcErrorStatus(error: PlexusError): Record<string, string> {
  const trailers: Record<string, string> = { [headerGrpcStatus]: String(error.code) };
  if (error.message.length > 0) trailers[headerGrpcMessage] = encodeGrpcMessage(error.message);
  const details = errorDetails(error);
  if (details.length > 0) {
    const status = create(StatusSchema, {
      code: error.code,
      message: error.message,
      details: details.map((d) => ({ typeUrl: typeUrlPrefix + d.type, value: d.value })),
    });
    // `-bin` values are base64; gRPC says to send them unpadded.
    trailers[headerGrpcStatusDetails] = Buffer.from(toBinary(StatusSchema, status))
      .toString("base64")
      .replace(/=+$/, "");
  }
  writePushbackHeaders(error, trailers);
  return trailers;
}
