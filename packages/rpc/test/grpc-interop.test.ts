import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import {
  compressionAlgorithms,
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  Metadata,
  status,
  type Client as GrpcClient,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import {
  compressionGzip,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { allCodes, Code, PlexusError } from "@plexus/core";
import {
  BadRequestSchema,
  createRpcServer,
  createServiceAuthenticator,
  ErrorInfoSchema,
  headerServiceToken,
  mintServiceToken,
  StatusSchema,
  type RpcServer,
  type RpcServerOptions,
} from "@plexus/rpc";
import { describe, expect, it, vi } from "vitest";
import { CatalogService, catalogBinding, createProbe, useCleanups } from "./fixtures.ts";

/**
 * A plain grpc-js client, its service built by @grpc/proto-loader from the shop's .proto files
 * (protobufjs on its side, nothing of Plexus's), calls a Plexus server over h2c.
 */
const cleanups = useCleanups();
const root = join(import.meta.dirname, "..", "..", "..");
const definition = loadSync("shop/catalog/v1/catalog.proto", {
  includeDirs: [join(root, "apps/shop/proto"), join(root, "packages/rpc/proto")],
  longs: String,
  defaults: true,
});
type Callback = (error: ServiceError | null, response?: Record<string, unknown>) => void;
interface CatalogStub extends GrpcClient {
  getProduct(request: object, metadata: Metadata, options: object, callback: Callback): Call;
  listProducts(request: object, metadata: Metadata, options: object, callback: Callback): Call;
}
interface Call {
  cancel(): void;
  on(event: "metadata", listener: (metadata: Metadata) => void): Call;
}
const CatalogStub = (
  loadPackageDefinition(definition) as unknown as {
    shop: { catalog: { v1: { CatalogService: new (...args: unknown[]) => CatalogStub } } };
  }
).shop.catalog.v1.CatalogService;

async function startServer(options: Partial<RpcServerOptions> = {}, probe = createProbe()) {
  const server = await createRpcServer({ services: [catalogBinding(probe)], ...options });
  cleanups.push(() => server.close());
  return { server, probe };
}

function grpcClient(server: RpcServer, channelOptions: Record<string, unknown> = {}): CatalogStub {
  const client = new CatalogStub(
    `127.0.0.1:${server.address().port}`,
    credentials.createInsecure(),
    channelOptions,
  );
  cleanups.push(async () => client.close());
  return client;
}

interface Outcome {
  error: ServiceError | null;
  response: Record<string, unknown> | undefined;
  headers: Metadata | undefined;
}

function unary(
  client: CatalogStub,
  method: "getProduct" | "listProducts",
  request: object,
  options: { metadata?: Metadata; deadline?: Date; onCall?: (call: Call) => void } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const call = client[method](
      request,
      options.metadata ?? new Metadata(),
      options.deadline ? { deadline: options.deadline } : {},
      (error, response) => resolve({ error, response, headers }),
    );
    call.on("metadata", (metadata) => (headers = metadata));
    options.onCall?.(call);
  });
}

/** The google.rpc.Status in `grpc-status-details-bin`, its details unpacked by type. */
function statusDetails(error: ServiceError) {
  const [bytes] = error.metadata.get("grpc-status-details-bin") as Buffer[];
  expect(bytes).toBeDefined();
  const decoded = fromBinary(StatusSchema, bytes!);
  const byType = new Map(decoded.details.map((d) => [d.typeUrl.split("/").pop(), d.value]));
  const info = byType.get("google.rpc.ErrorInfo");
  const badRequest = byType.get("google.rpc.BadRequest");
  return {
    code: decoded.code,
    message: decoded.message,
    info: info === undefined ? undefined : fromBinary(ErrorInfoSchema, info),
    violations:
      badRequest === undefined ? [] : fromBinary(BadRequestSchema, badRequest).fieldViolations,
  };
}

describe("grpc-js client (proto-loader) → Plexus server", () => {
  it("succeeds, with Plexus's response headers", async () => {
    const { server } = await startServer();
    const { error, response, headers } = await unary(grpcClient(server), "getProduct", {
      id: "ok",
    });
    expect(error).toBeNull();
    expect(response).toMatchObject({ product: { name: "Kettle", priceCents: "2999" } });
    expect(headers?.get("x-request-id")).toHaveLength(1);
  });

  it("carries every code, its message, reason, metadata and field violations", async () => {
    const { server } = await startServer();
    const client = grpcClient(server);
    for (const code of allCodes) {
      const { error } = await unary(client, "getProduct", { id: `error:${code}` });
      expect(error?.code).toBe(code);
      expect(error?.details).toBe(`failure ${code}`);
      const details = statusDetails(error!);
      expect(details).toMatchObject({ code, message: `failure ${code}` });
      expect(details.info).toMatchObject({
        reason: `REASON_${code}`,
        domain: "plexus",
        metadata: { retryAfterMs: "250" },
      });
      expect(details.violations.map((v) => [v.field, v.description])).toEqual([
        ["items[0].quantity", "must be at least 1"],
        ["email", "is not an email"],
      ]);
      expect(error?.metadata.get("grpc-retry-pushback-ms")).toEqual(["250"]);
    }
  });

  it("answers a request its contract's rules refuse INVALID_ARGUMENT with the violations", async () => {
    const { server, probe } = await startServer();
    const { error } = await unary(grpcClient(server), "listProducts", { page: 0, limit: 500 });
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(statusDetails(error!).violations.map((v) => v.field)).toEqual(["page", "limit"]);
    expect(probe.invocations).toBe(0);
  });

  it("percent-encodes a message that is not plain ASCII", async () => {
    const server = await createRpcServer({
      services: [
        {
          contract: CatalogService,
          handlers: {
            async getProduct() {
              throw new PlexusError(Code.NotFound, "produit « introuvable » 100%\n");
            },
          },
        },
      ],
    });
    cleanups.push(() => server.close());
    const { error } = await unary(grpcClient(server), "getProduct", { id: "x" });
    expect(error?.details).toBe("produit « introuvable » 100%\n");
  });

  it("fails at the deadline with DEADLINE_EXCEEDED and aborts the handler's signal", async () => {
    const { server, probe } = await startServer();
    const { error } = await unary(
      grpcClient(server),
      "getProduct",
      { id: "hang" },
      {
        deadline: new Date(Date.now() + 300),
      },
    );
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(probe.contexts[0]?.deadline).toBeTypeOf("number");
    // Whichever comes first, the server's own timer or the client's RST_STREAM, stops the handler.
    await vi.waitFor(() => expect(probe.abortReasons).toHaveLength(1));
    expect([Code.DeadlineExceeded, Code.Canceled]).toContain(
      (probe.abortReasons[0] as PlexusError).code,
    );
  });

  it("aborts the handler's signal with CANCELED when the client cancels", async () => {
    const { server, probe } = await startServer();
    const outcome = unary(
      grpcClient(server),
      "getProduct",
      { id: "hang" },
      {
        onCall: (call) => void probe.started.then(() => call.cancel()),
      },
    );
    expect((await outcome).error?.code).toBe(status.CANCELLED);
    await vi.waitFor(() => expect(probe.abortReasons).toHaveLength(1));
    expect((probe.abortReasons[0] as PlexusError).code).toBe(Code.Canceled);
  });

  // grpc-js hides the answer's `grpc-encoding`; grpc-wire.test.ts sees the gzipped answer frame.
  it("reads gzip requests and answers them in gzip", async () => {
    const { server, probe } = await startServer();
    const client = grpcClient(server, {
      "grpc.default_compression_algorithm": compressionAlgorithms.gzip,
    });
    const { error, response } = await unary(client, "listProducts", { page: 1, limit: 20 });
    expect(error).toBeNull();
    expect((response?.["products"] as unknown[]).length).toBe(20);
    const { response: product } = await unary(client, "getProduct", { id: "ok" });
    expect(product).toMatchObject({ product: { name: "Kettle" } });
    expect(probe.headers[0]?.get("grpc-encoding")).toBe("gzip");
  });

  it("answers UNIMPLEMENTED to a method the server does not have", async () => {
    const { server } = await startServer();
    const Unknown = makeGenericClientConstructor(
      {
        Nope: {
          path: "/shop.catalog.v1.CatalogService/Nope",
          requestStream: false,
          responseStream: false,
          requestSerialize: (value: Buffer) => value,
          requestDeserialize: (value: Buffer) => value,
          responseSerialize: (value: Buffer) => value,
          responseDeserialize: (value: Buffer) => value,
        },
      },
      "shop.catalog.v1.CatalogService",
    );
    const client = new Unknown(`127.0.0.1:${server.address().port}`, credentials.createInsecure());
    cleanups.push(async () => client.close());
    const error = await new Promise<ServiceError | null>((resolve) =>
      (client["Nope"] as (r: Buffer, cb: (e: ServiceError | null) => void) => void)(
        Buffer.alloc(0),
        resolve,
      ),
    );
    expect(error?.code).toBe(status.UNIMPLEMENTED);
  });

  it("runs the server interceptors, whose response headers reach the client", async () => {
    const seen: string[] = [];
    const { server } = await startServer({
      interceptors: [
        (next) =>
          async function tag(request) {
            seen.push(request.method.name);
            const response = await next(request);
            response.header.set("x-served-by", "interceptor");
            return response;
          },
      ],
    });
    const { error, headers } = await unary(grpcClient(server), "getProduct", { id: "ok" });
    expect(error).toBeNull();
    expect(seen).toEqual(["GetProduct"]);
    expect(headers?.get("x-served-by")).toEqual(["interceptor"]);
  });

  it("propagates the correlation id and checks service tokens as for Connect", async () => {
    const key = randomBytes(32);
    const { server, probe } = await startServer({
      authenticator: createServiceAuthenticator({ key }),
    });
    const client = grpcClient(server);
    const anonymous = await unary(client, "getProduct", { id: "ok" });
    expect(anonymous.error?.code).toBe(status.UNAUTHENTICATED);
    expect(probe.invocations).toBe(0);

    const metadata = new Metadata();
    const token = mintServiceToken({ key, caller: "orders", callee: CatalogService.typeName });
    metadata.set(headerServiceToken, token);
    metadata.set("x-plexus-caller", "forged");
    metadata.set("x-correlation-id", "corr-grpc-1");
    const { error } = await unary(client, "getProduct", { id: "ok" }, { metadata });
    expect(error).toBeNull();
    expect(probe.contexts[0]).toMatchObject({ caller: "orders", correlationId: "corr-grpc-1" });
  });
});

/** `buf curl` (the Buf CLI's Go gRPC and gRPC-Web clients), its schema the repository's buf workspace. */
function bufCurl(server: RpcServer, protocol: string[], body: object) {
  const url = `${server.address().url}/shop.catalog.v1.CatalogService/GetProduct`;
  return new Promise<{ exitCode: number; out: unknown }>((resolve, reject) => {
    execFile(
      join(root, "node_modules/.bin/buf"),
      ["curl", "--schema", ".", ...protocol, "-d", JSON.stringify(body), url],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        const text = stdout.trim() === "" ? stderr : stdout;
        try {
          resolve({ exitCode: error === null ? 0 : Number(error.code), out: JSON.parse(text) });
        } catch {
          reject(new Error(`buf curl: ${stderr || error?.message}`));
        }
      },
    );
  });
}

describe.each([
  ["grpc", ["--protocol", "grpc", "--http2-prior-knowledge"]],
  ["grpcweb (HTTP/1.1)", ["--protocol", "grpcweb"]],
  ["grpcweb (h2c)", ["--protocol", "grpcweb", "--http2-prior-knowledge"]],
])("buf curl --protocol %s → Plexus server", (_name, protocol) => {
  it("succeeds, and decodes an error's code, message and details", async () => {
    const { server } = await startServer();
    const ok = await bufCurl(server, protocol, { id: "ok" });
    expect(ok).toMatchObject({ exitCode: 0, out: { product: { name: "Kettle" } } });
    const failed = await bufCurl(server, protocol, { id: "error:9" });
    expect(failed.exitCode).not.toBe(0);
    expect(failed.out).toMatchObject({ code: "failed_precondition", message: "failure 9" });
    const types = (failed.out as { details: { type: string }[] }).details.map((d) => d.type);
    expect(types).toEqual(["google.rpc.ErrorInfo", "google.rpc.BadRequest"]);
  });
});

describe.each([
  ["gRPC", createGrpcTransport, "2"],
  ["gRPC-Web", createGrpcWebTransport, "1.1"],
  ["gRPC-Web", createGrpcWebTransport, "2"],
] as const)(
  "stock connect-node %s transport (HTTP/%s) → Plexus server",
  (_name, transport, httpVersion) => {
    it("succeeds with gzip both ways, and decodes an error's details", async () => {
      const { server } = await startServer();
      const client = createConnectClient(
        CatalogService,
        transport({
          baseUrl: server.address().url,
          httpVersion,
          sendCompression: compressionGzip,
          compressMinBytes: 0,
        }),
      );
      const { product } = await client.getProduct({ id: "ok" });
      expect(product?.priceCents).toBe(2999n);
      const error = await client.getProduct({ id: "error:7" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(7);
      expect(
        (error as ConnectError).findDetails(BadRequestSchema)[0]?.fieldViolations,
      ).toHaveLength(2);
      expect((error as ConnectError).findDetails(ErrorInfoSchema)[0]?.reason).toBe("REASON_7");
    });
  },
);
