import { create, toBinary } from "@bufbuild/protobuf";
import type { PlexusError } from "@plexus/core";
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

/** The `domain` of the `google.rpc.ErrorInfo` detail Plexus sends: its reasons are Plexus's. */
export const errorDomain = "plexus";

export const errorInfoType = ErrorInfoSchema.typeName;
export const badRequestType = BadRequestSchema.typeName;

/** One standard detail message of an error: its type name, its bytes, and a readable form. */
export interface ErrorDetail {
  readonly type: string;
  readonly value: Uint8Array;
  readonly debug: unknown;
}

/**
 * The standard `google.rpc` detail messages every protocol sends for an error: the reason (and
 * metadata) in an `ErrorInfo`, field violations in a `BadRequest`. Connect puts them in its error
 * JSON, gRPC in `grpc-status-details-bin`; stock clients of either decode them with their own
 * copies of the messages.
 */
export function errorDetails(error: PlexusError): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const hasMetadata = Object.keys(error.metadata).length > 0;
  if (error.reason !== undefined || hasMetadata) {
    const info = create(ErrorInfoSchema, {
      reason: error.reason ?? "",
      domain: errorDomain,
      metadata: { ...error.metadata },
    });
    details.push({
      type: errorInfoType,
      value: toBinary(ErrorInfoSchema, info),
      debug: { reason: info.reason, domain: info.domain, metadata: info.metadata },
    });
  }
  if (error.details.length > 0) {
    const fieldViolations = error.details.map((d) => ({ field: d.field, description: d.message }));
    details.push({
      type: badRequestType,
      value: toBinary(BadRequestSchema, create(BadRequestSchema, { fieldViolations })),
      debug: { fieldViolations },
    });
  }
  return details;
}
