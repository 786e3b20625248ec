import { fromBinary } from "@bufbuild/protobuf";
import {
  codeFromConnectName,
  codeToConnectName,
  PlexusError,
  type FieldViolation,
} from "@plexus/core";
import { codeFromConnectHttpStatus } from "./connect-protocol.ts";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { badRequestType, errorDetails, errorInfoType } from "../error-details.ts";

interface WireDetail {
  type: string;
  value: string;
  debug?: unknown;
}

interface WireError {
  code: string;
  message?: string;
  details?: WireDetail[];
}

function base64(bytes: Uint8Array): string {
  // Connect sends standard base64 without padding; decoders accept both.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString("base64")
    .replace(/=+$/, "");
}

/**
 * Serialises an error as Connect's unary error JSON, its reason, metadata and field violations
 * as the standard detail messages (`errorDetails`).
 */
export function encodeConnectError(error: PlexusError): Uint8Array {
  const wire: WireError = { code: codeToConnectName(error.code) };
  if (error.message.length > 0) wire.message = error.message;
  const details = errorDetails(error);
  if (details.length > 0) {
    wire.details = details.map((d) => ({ type: d.type, value: base64(d.value), debug: d.debug }));
  }
  return Buffer.from(JSON.stringify(wire));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses a Connect unary error body. A body that is not a Connect error (a proxy's HTML page,
 * garbage) yields the error Connect derives from the HTTP status alone. Unknown detail types are
 * skipped; the ones Plexus understands fill `reason`, `metadata` and field `details`.
 */
export function decodeConnectError(status: number, body: Uint8Array): PlexusError {
  const fallbackCode = codeFromConnectHttpStatus(status);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString());
  } catch {
    return new PlexusError(fallbackCode, `HTTP ${status}`);
  }
  if (!isRecord(parsed)) return new PlexusError(fallbackCode, `HTTP ${status}`);
  const code =
    (typeof parsed["code"] === "string" ? codeFromConnectName(parsed["code"]) : undefined) ??
    fallbackCode;
  const message = typeof parsed["message"] === "string" ? parsed["message"] : "";
  let reason: string | undefined;
  let metadata: Record<string, string> | undefined;
  let details: FieldViolation[] | undefined;
  const wireDetails = parsed["details"];
  if (Array.isArray(wireDetails)) {
    for (const detail of wireDetails) {
      if (!isRecord(detail) || typeof detail["type"] !== "string") continue;
      if (typeof detail["value"] !== "string") continue;
      // Tolerate an Any-style type URL ("type.googleapis.com/google.rpc.ErrorInfo").
      const type = detail["type"].slice(detail["type"].lastIndexOf("/") + 1);
      try {
        const bytes = Buffer.from(detail["value"], "base64");
        if (type === errorInfoType) {
          const info = fromBinary(ErrorInfoSchema, bytes);
          if (info.reason !== "") reason = info.reason;
          if (Object.keys(info.metadata).length > 0) metadata = { ...info.metadata };
        } else if (type === badRequestType) {
          const badRequest = fromBinary(BadRequestSchema, bytes);
          details = badRequest.fieldViolations.map((v) => ({
            field: v.field,
            message: v.description,
          }));
        }
      } catch {
        // A detail we cannot decode is dropped; the code and message still stand.
      }
    }
  }
  return new PlexusError(code, message, { reason, metadata, details });
}
