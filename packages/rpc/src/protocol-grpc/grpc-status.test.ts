import { fromBinary } from "@bufbuild/protobuf";
import { Code, PlexusError } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { encodeGrpcMessage, grpcErrorStatus } from "./grpc-status.ts";

describe("grpc-message", () => {
  it("percent-encodes UTF-8 outside printable ASCII and %, and decodes back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (message) => {
        const encoded = encodeGrpcMessage(message);
        expect(encoded).toMatch(/^[\x20-\x7e]*$/);
        expect(decodeURIComponent(encoded)).toBe(message);
      }),
    );
    expect(encodeGrpcMessage("50% off")).toBe("50%25 off");
    expect(encodeGrpcMessage("plain")).toBe("plain");
  });
});

describe("grpcErrorStatus", () => {
  it("carries the code, message, details and pushback", () => {
    const trailers = grpcErrorStatus(
      new PlexusError(Code.InvalidArgument, "bad", {
        details: [{ field: "id", message: "required" }],
        metadata: { retryAfterMs: "1500" },
      }),
    );
    expect(trailers).toMatchObject({
      "grpc-status": "3",
      "grpc-message": "bad",
      "grpc-retry-pushback-ms": "1500",
    });
    const status = fromBinary(
      StatusSchema,
      Buffer.from(trailers["grpc-status-details-bin"]!, "base64"),
    );
    expect(status.code).toBe(3);
    const badRequest = status.details.find((d) => d.typeUrl.endsWith("google.rpc.BadRequest"));
    expect(fromBinary(BadRequestSchema, badRequest!.value).fieldViolations[0]?.field).toBe("id");
  });

  it("sends no details trailer for an error without details", () => {
    const trailers = grpcErrorStatus(new PlexusError(Code.NotFound, ""));
    expect(trailers).toEqual({ "grpc-status": "5" });
  });
});
