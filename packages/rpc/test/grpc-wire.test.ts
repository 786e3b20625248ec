import { connect, constants, type ClientHttp2Session } from "node:http2";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { bindService, createRpcServer, type RpcServer } from "@plexus/rpc";
import fc from "fast-check";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CatalogService,
  GetProductRequestSchema,
  GetProductResponseSchema,
} from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";
import { notUsedByTests } from "./fixtures.ts";

/**
 * The gRPC and gRPC-Web wire as Plexus writes it, seen byte by byte through plain HTTP clients:
 * frames, trailers, trailers-only errors, compression, and a gRPC status (never a crash, never a
 * 5xx) for every malformed request.
 */
const echo = bindService(CatalogService, {
  getProducts: notUsedByTests,
  reserveStock: notUsedByTests,
  releaseStock: notUsedByTests,
  async getProduct(request) {
    if (request.id === "missing") throw new Error("never shown");
    return { product: { id: request.id, name: "x".repeat(200) } };
  },
  async listProducts(request) {
    return { total: request.limit };
  },
});

const maxBodyBytes = 1024;
const getProduct = "/shop.catalog.v1.CatalogService/GetProduct";

let server: RpcServer;
let session: ClientHttp2Session;

beforeAll(async () => {
  server = await createRpcServer({ services: [echo], maxBodyBytes });
  session = connect(server.address().url);
});

afterAll(async () => {
  await new Promise<void>((resolve) => session.close(resolve));
  await server.close();
});

function frame(flags: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(payload.byteLength, 1);
  return Buffer.concat([header, payload]);
}

function frames(body: Buffer): { flags: number; payload: Buffer }[] {
  const out = [];
  for (let at = 0; at < body.length;) {
    const length = body.readUInt32BE(at + 1);
    out.push({ flags: body[at]!, payload: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

const request = (id: string) =>
  Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, { id })));

interface H2Answer {
  status: number;
  headers: Record<string, unknown>;
  /** The headers frame ended the stream: a trailers-only answer. */
  trailersOnly: boolean;
  trailers: Record<string, unknown>;
  body: Buffer;
}

function h2(body: Buffer, headers: Record<string, string> = {}, path = getProduct) {
  return new Promise<H2Answer>((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let answer: Omit<H2Answer, "body" | "trailers"> | undefined;
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h, flags) => {
      answer = {
        status: h[":status"]!,
        headers: h,
        trailersOnly: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0,
      };
    });
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve({ ...answer!, trailers, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    // A GET stream is ended by its headers already.
    if (!stream.writableEnded) stream.end(body);
  });
}

/** The status of an h2 gRPC answer, from its trailers or (trailers-only) its headers. */
function grpcStatus(answer: H2Answer): string | undefined {
  const source = answer.trailersOnly ? answer.headers : answer.trailers;
  return source["grpc-status"] as string | undefined;
}

describe("gRPC over h2c", () => {
  it("answers one message frame, then grpc-status 0 in the trailers", async () => {
    const answer = await h2(frame(0, request("p-1")));
    expect(answer).toMatchObject({ status: 200, trailersOnly: false });
    expect(answer.headers["content-type"]).toBe("application/grpc+proto");
    expect(answer.trailers["grpc-status"]).toBe("0");
    const [only, ...rest] = frames(answer.body);
    expect(rest).toEqual([]);
    expect(only!.flags).toBe(0);
    expect(fromBinary(GetProductResponseSchema, only!.payload).product?.id).toBe("p-1");
  });

  it("answers an error trailers-only: one HEADERS frame ending the stream", async () => {
    const answer = await h2(frame(0, request("missing")));
    expect(answer).toMatchObject({ status: 200, trailersOnly: true });
    expect(answer.headers["grpc-status"]).toBe("2");
    expect(answer.headers["grpc-message"]).toBe("internal error");
    expect(answer.body).toHaveLength(0);
  });

  it("answers a gzip request in gzip when the client accepts it, and plain when not", async () => {
    const compressed = frame(1, gzipSync(request("p-gz")));
    const accepting = await h2(compressed, {
      "grpc-encoding": "gzip",
      "grpc-accept-encoding": "identity, gzip",
    });
    expect(accepting.headers["grpc-encoding"]).toBe("gzip");
    const [gzipped] = frames(accepting.body);
    expect(gzipped!.flags).toBe(1);
    const message = fromBinary(GetProductResponseSchema, gunzipSync(gzipped!.payload));
    expect(message.product?.id).toBe("p-gz");

    const refusing = await h2(compressed, { "grpc-encoding": "gzip" });
    expect(refusing.headers["grpc-encoding"]).toBeUndefined();
    expect(frames(refusing.body)[0]!.flags).toBe(0);
  });

  const bomb = gzipSync(Buffer.alloc(maxBodyBytes * 4));
  const malformed: [string, Buffer, Record<string, string>, string][] = [
    ["a body ending inside a frame header", Buffer.from("{}"), {}, "3"],
    ["a body ending inside a frame", frame(0, request("x")).subarray(0, 7), {}, "3"],
    ["no message", Buffer.alloc(0), {}, "3"],
    ["two messages", Buffer.concat([frame(0, request("a")), frame(0, request("b"))]), {}, "3"],
    ["unknown frame flags", frame(0x80, request("x")), {}, "3"],
    ["a compressed message without grpc-encoding", frame(1, request("x")), {}, "3"],
    ["a message that is no protobuf", frame(0, Buffer.from([0xff, 0xff, 0xff])), {}, "3"],
    ["malformed gzip", frame(1, Buffer.from("nope")), { "grpc-encoding": "gzip" }, "3"],
    ["a frame over the size limit", frame(0, Buffer.alloc(maxBodyBytes + 1)), {}, "8"],
    ["gzip inflating over the size limit", frame(1, bomb), { "grpc-encoding": "gzip" }, "8"],
    ["an unsupported grpc-encoding", frame(1, request("x")), { "grpc-encoding": "br" }, "12"],
    ["a malformed grpc-timeout", frame(0, request("x")), { "grpc-timeout": "10s" }, "3"],
  ];
  it.each(malformed)("answers %s with a gRPC status", async (_name, body, headers, status) => {
    const answer = await h2(body, headers);
    expect(answer.status).toBe(200);
    expect(grpcStatus(answer)).toBe(status);
    if (status === "12") expect(answer.headers["grpc-accept-encoding"]).toBe("gzip,identity");
  });

  it("speaks proto3 JSON messages for application/grpc+json", async () => {
    const body = frame(0, Buffer.from(JSON.stringify({ id: "p-json" })));
    const answer = await h2(body, { "content-type": "application/grpc+json" });
    expect(answer.headers["content-type"]).toBe("application/grpc+json");
    expect(answer.trailers["grpc-status"]).toBe("0");
    const [message] = frames(answer.body);
    expect(JSON.parse(message!.payload.toString())).toMatchObject({ product: { id: "p-json" } });
  });

  it("answers a call already out of time DEADLINE_EXCEEDED", async () => {
    const answer = await h2(frame(0, request("p-1")), { "grpc-timeout": "0n" });
    expect(answer).toMatchObject({ status: 200, trailersOnly: true });
    expect(answer.headers["grpc-status"]).toBe("4");
  });

  it("answers UNIMPLEMENTED to an unknown method", async () => {
    const answer = await h2(frame(0, request("x")), {}, "/shop.catalog.v1.CatalogService/Nope");
    expect(answer).toMatchObject({ status: 200, trailersOnly: true });
    expect(answer.headers["grpc-status"]).toBe("12");
  });

  it("answers plain HTTP where no gRPC call can be: 405, 415", async () => {
    const get = await h2(Buffer.alloc(0), { ":method": "GET" });
    expect(get.status).toBe(405);
    const text = await h2(Buffer.alloc(0), { "content-type": "application/grpc-web-text" });
    expect(text.status).toBe(415);
  });

  it("answers any body with a gRPC status, never a crash or a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        const answer = await h2(Buffer.from(bytes));
        expect(answer.status).toBe(200);
        expect(["0", "3", "8"]).toContain(grpcStatus(answer));
      }),
      { numRuns: 50 },
    );
  });
});

describe("gRPC-Web", () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool(server.address().url, { connections: 1 });
  });
  afterAll(() => pool.close());

  async function http1(body: Buffer, contentType: string) {
    const response = await pool.request({
      method: "POST",
      path: getProduct,
      headers: { "content-type": contentType },
      body,
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: Buffer.from(await response.body.arrayBuffer()),
    };
  }

  it("answers over HTTP/1.1 with the message, then the trailers as a 0x80 frame", async () => {
    const answer = await http1(frame(0, request("p-web")), "application/grpc-web+proto");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/grpc-web+proto");
    const [message, trailers, ...rest] = frames(answer.body);
    expect(rest).toEqual([]);
    expect(fromBinary(GetProductResponseSchema, message!.payload).product?.id).toBe("p-web");
    expect(trailers!.flags).toBe(0x80);
    expect(trailers!.payload.toString()).toBe("grpc-status: 0\r\n");
  });

  it("answers an error with a trailers frame only", async () => {
    const answer = await http1(frame(0, request("missing")), "application/grpc-web");
    const [trailers, ...rest] = frames(answer.body);
    expect(rest).toEqual([]);
    expect(trailers!.flags).toBe(0x80);
    expect(trailers!.payload.toString()).toContain("grpc-status: 2\r\n");
  });

  it("answers over h2c the same way", async () => {
    const answer = await h2(frame(0, request("p-h2")), { "content-type": "application/grpc-web" });
    expect(answer.trailers).toEqual({});
    const [message, trailers] = frames(answer.body);
    expect(fromBinary(GetProductResponseSchema, message!.payload).product?.id).toBe("p-h2");
    expect(trailers!.payload.toString()).toBe("grpc-status: 0\r\n");
  });

  it("refuses gRPC proper over HTTP/1.1 (it needs HTTP/2 trailers): 505", async () => {
    const answer = await http1(frame(0, request("x")), "application/grpc");
    expect(answer.status).toBe(505);
  });
});
