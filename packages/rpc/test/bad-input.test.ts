import { notUsedByTests } from "./fixtures.ts";
import { Readable } from "node:stream";
import { toBinary } from "@bufbuild/protobuf";
import { allCodes, codeToConnectName } from "@plexus/core";
import { bindService, createRpcServer, type RpcServer } from "@plexus/rpc";
import fc from "fast-check";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CatalogService,
  GetProductRequestSchema,
} from "../../../apps/shop/gen/shop/catalog/v1/catalog_pb.js";

/** Handlers that never fail: any 5xx would be the server's own fault. */
const echo = bindService(CatalogService, {
  getProducts: notUsedByTests,
  reserveStock: notUsedByTests,
  releaseStock: notUsedByTests,
  async getProduct(request) {
    return { product: { id: request.id } };
  },
  async listProducts(request) {
    return { total: request.limit };
  },
});

const maxBodyBytes = 1024;
const getProduct = "/shop.catalog.v1.CatalogService/GetProduct";
const connectCodes = new Set(allCodes.map(codeToConnectName));

let server: RpcServer;
let pool: Pool;

interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | Readable;
}

async function send(request: RawRequest) {
  const response = await pool.request({
    method: request.method ?? "POST",
    path: request.path ?? getProduct,
    headers: request.headers ?? { "content-type": "application/json" },
    body: request.body ?? null,
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

/** A non-200 JSON answer must be a Connect error with a known code. */
function expectConnectError(response: Awaited<ReturnType<typeof send>>, code: string): void {
  expect(response.headers["content-type"]).toBe("application/json");
  const body = JSON.parse(response.text) as { code: string; message?: string };
  expect(body.code).toBe(code);
}

describe.each(["1.1", "2"] as const)("bad input never yields a 5xx (HTTP/%s)", (httpVersion) => {
  beforeAll(async () => {
    server = await createRpcServer({ services: [echo], maxBodyBytes });
    pool = new Pool(server.address().url, {
      connections: 4,
      ...(httpVersion === "2" ? { allowH2: true, useH2c: true } : {}),
    });
  });

  afterAll(async () => {
    await pool.close();
    await server.close();
  });

  it("answers 404 unimplemented for an unknown path", async () => {
    const response = await send({ path: "/shop.catalog.v1.CatalogService/Nope" });
    expect(response.status).toBe(404);
    expectConnectError(response, "unimplemented");
  });

  it("answers 405 to a wrong HTTP method", async () => {
    const response = await send({ method: "GET", body: undefined });
    expect(response.status).toBe(405);
    expect(response.headers["allow"]).toBe("POST");
  });

  it("answers 415 to an unsupported content type", async () => {
    // `application/grpc…` is gRPC's (grpc-bad-input.test.ts).
    for (const type of ["text/plain", "application/connect+proto"]) {
      const response = await send({ headers: { "content-type": type }, body: "{}" });
      expect(response.status).toBe(415);
      expect(response.headers["accept-post"]).toContain("application/proto");
    }
  });

  it("answers 415 unimplemented to an unsupported content encoding", async () => {
    const response = await send({
      headers: { "content-type": "application/json", "content-encoding": "br" },
      body: "{}",
    });
    expect(response.status).toBe(415);
    expectConnectError(response, "unimplemented");
  });

  it("tolerates a charset parameter on JSON", async () => {
    const response = await send({
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ id: "x" }),
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ product: { id: "x" } });
  });

  it("answers invalid_argument to malformed timeouts", async () => {
    for (const timeout of ["abc", "-1", "12345678901", "1.5", "1e3", ""]) {
      const response = await send({
        headers: { "content-type": "application/json", "connect-timeout-ms": timeout },
        body: "{}",
      });
      expect(response.status).toBe(400);
      expectConnectError(response, "invalid_argument");
    }
  });

  it("answers invalid_argument to malformed bodies", async () => {
    const garbage = await send({
      headers: { "content-type": "application/proto" },
      body: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]),
    });
    expect(garbage.status).toBe(400);
    expectConnectError(garbage, "invalid_argument");
    for (const body of ["{", "[]", '{"id": 5}', "null", "", "\u0000"]) {
      const response = await send({ body });
      expect(response.status).toBe(400);
      expectConnectError(response, "invalid_argument");
    }
    const notGzip = await send({
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: "{}",
    });
    expect(notGzip.status).toBe(400);
  });

  it("answers invalid_argument to a wrong protocol version or a malformed idempotency key", async () => {
    const version = await send({
      headers: { "content-type": "application/json", "connect-protocol-version": "2" },
      body: "{}",
    });
    expect(version.status).toBe(400);
    const key = await send({
      headers: { "content-type": "application/json", "idempotency-key": "k".repeat(300) },
      body: "{}",
    });
    expect(key.status).toBe(400);
    expectConnectError(key, "invalid_argument");
  });

  it("answers resource_exhausted to bodies over the limit, declared or streamed", async () => {
    const declared = await send({ body: JSON.stringify({ id: "x".repeat(maxBodyBytes) }) });
    expect(declared.status).toBe(429);
    expectConnectError(declared, "resource_exhausted");
    async function* chunks() {
      for (let i = 0; i < 4; i++) yield new Uint8Array(512).fill(0x20);
    }
    const streamed = await send({ body: Readable.from(chunks()) });
    expect(streamed.status).toBe(429);
    expectConnectError(streamed, "resource_exhausted");
  });

  it("echoes a well-formed correlation id and replaces a malformed one", async () => {
    const kept = await send({
      headers: { "content-type": "application/json", "x-correlation-id": "abc-1" },
      body: "{}",
    });
    expect(kept.headers["x-correlation-id"]).toBe("abc-1");
    expect(kept.headers["x-request-id"]).toBeTypeOf("string");
    const replaced = await send({
      headers: { "content-type": "application/json", "x-correlation-id": "bad id <script>" },
      body: "{}",
    });
    expect(replaced.headers["x-correlation-id"]).not.toContain("script");
  });

  it("holds for arbitrary requests (property)", async () => {
    const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));
    const validBody = fc.string({ maxLength: 50 }).map((id) => ({
      json: JSON.stringify({ id }),
      proto: toBinary(GetProductRequestSchema, { $typeName: GetProductRequestSchema.typeName, id }),
    }));
    const request = fc.record({
      method: fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH"),
      path: fc.oneof(
        fc.constantFrom(
          getProduct,
          "/shop.catalog.v1.CatalogService/ListProducts",
          `${getProduct}?x=1`,
          "/",
          "/shop.catalog.v1.CatalogService/",
        ),
        fc.stringMatching(/^\/[A-Za-z0-9._~/-]{0,40}$/),
      ),
      contentType: fc.option(
        fc.oneof(
          fc.constantFrom(
            "application/proto",
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/json; charset=latin1",
            "text/plain",
            "application/connect+proto",
          ),
          printable(30),
        ),
        { nil: undefined },
      ),
      timeout: fc.option(fc.oneof(fc.nat().map(String), printable(12)), { nil: undefined }),
      version: fc.option(fc.constantFrom("1", "2", "", "one"), { nil: undefined }),
      encoding: fc.option(fc.constantFrom("identity", "gzip", "br", "x"), { nil: undefined }),
      correlationId: fc.option(printable(140), { nil: undefined }),
      traceparent: fc.option(printable(60), { nil: undefined }),
      idempotencyKey: fc.option(printable(300), { nil: undefined }),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 3 * maxBodyBytes }),
        fc.string({ maxLength: 200 }),
        fc.json({ maxDepth: 3 }),
        validBody.map((b) => b.json),
        validBody.map((b) => b.proto),
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers["content-type"] = r.contentType;
        if (r.timeout !== undefined) headers["connect-timeout-ms"] = r.timeout;
        if (r.version !== undefined) headers["connect-protocol-version"] = r.version;
        if (r.encoding !== undefined) headers["content-encoding"] = r.encoding;
        if (r.correlationId !== undefined) headers["x-correlation-id"] = r.correlationId;
        if (r.traceparent !== undefined) headers["traceparent"] = r.traceparent;
        if (r.idempotencyKey !== undefined) headers["idempotency-key"] = r.idempotencyKey;
        const hasBody = r.method !== "GET";
        const response = await send({
          method: r.method,
          path: r.path,
          headers,
          body: hasBody ? r.body : undefined,
        });
        expect(response.status).toBeLessThan(500);
        if (response.status !== 200 && response.headers["content-type"] === "application/json") {
          const body = JSON.parse(response.text) as { code: unknown };
          expect(connectCodes.has(body.code as string)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
