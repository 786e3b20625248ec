import type { Codec } from "../message-codec.ts";

/**
 * The gRPC protocol's wire constants (PROTOCOL-HTTP2.md) and gRPC-Web's (PROTOCOL-WEB.md), in one
 * place so the server and a future client cannot drift apart.
 */

export const headerGrpcEncoding = "grpc-encoding";
export const headerGrpcAcceptEncoding = "grpc-accept-encoding";
export const headerGrpcStatus = "grpc-status";
export const headerGrpcMessage = "grpc-message";
export const headerGrpcStatusDetails = "grpc-status-details-bin";

/** The message encodings this server reads and writes, in `grpc-accept-encoding` form. */
export const acceptedEncodings = "gzip,identity";

/** Every gRPC and gRPC-Web content type starts with this; Connect's never do. */
export const grpcContentTypePrefix = "application/grpc";

/** The two framings served: gRPC (trailers as HTTP/2 trailers) and gRPC-Web (as a last frame). */
export interface GrpcContentType {
  readonly web: boolean;
  readonly codec: Codec;
  /** The response's `content-type`: the request's framing and codec, spelled out. */
  readonly responseType: string;
}

const grpcProto = { web: false, codec: "proto", responseType: "application/grpc+proto" } as const;
const grpcJson = { web: false, codec: "json", responseType: "application/grpc+json" } as const;
const webProto = { web: true, codec: "proto", responseType: "application/grpc-web+proto" } as const;
const webJson = { web: true, codec: "json", responseType: "application/grpc-web+json" } as const;

const contentTypes: ReadonlyMap<string, GrpcContentType> = new Map<string, GrpcContentType>([
  ["application/grpc", grpcProto],
  ["application/grpc+proto", grpcProto],
  ["application/grpc+json", grpcJson],
  ["application/grpc-web", webProto],
  ["application/grpc-web+proto", webProto],
  ["application/grpc-web+json", webJson],
]);

/**
 * Parses a gRPC or gRPC-Web `content-type` (parameters ignored, case-insensitive); `undefined`
 * for a codec or framing not served (`application/grpc-web-text`'s base64 among them).
 */
export function parseGrpcContentType(value: string | undefined): GrpcContentType | undefined {
  if (value === undefined) return undefined;
  const exact = contentTypes.get(value);
  if (exact !== undefined) return exact;
  const semicolon = value.indexOf(";");
  return contentTypes.get(
    (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase(),
  );
}
