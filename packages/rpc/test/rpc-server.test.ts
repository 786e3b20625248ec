import { request as httpRequest, type ServerResponse } from "node:http";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { Code } from "@plexus/core";
import {
  createClient,
  createNetworkTransport,
  createRpcServer,
  type RpcServer,
  type RpcServerOptions,
} from "@plexus/rpc";
import { describe, expect, it, vi } from "vitest";
import {
  CatalogService,
  catalogBinding,
  createProbe,
  failure,
  useCleanups,
  type TestProbe,
} from "./fixtures.ts";

const cleanups = useCleanups();

async function start(
  probe: TestProbe,
  options: Partial<RpcServerOptions> = {},
): Promise<RpcServer> {
  const server = await createRpcServer({ services: [catalogBinding(probe)], ...options });
  cleanups.push(() => server.destroy());
  return server;
}

function client(server: RpcServer, httpVersion: "1.1" | "2", keepAliveTimeoutMs = 60_000) {
  const transport = createNetworkTransport({
    baseUrl: server.address().url,
    httpVersion,
    keepAliveTimeoutMs,
  });
  cleanups.push(() => transport.destroy());
  return createClient(CatalogService, transport);
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

describe("createRpcServer", () => {
  it("speaks HTTP/1.1 and HTTP/2 prior knowledge on the same port", async () => {
    const server = await start(createProbe(), {
      fallback: (req, res) => {
        // Both HTTP versions' responses share this API; the union type does not show it.
        const response = res as ServerResponse;
        response.writeHead(200, { "content-type": "text/plain" });
        response.end(`HTTP/${req.httpVersion}`);
      },
    });
    const { port } = server.address();
    const h1 = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ port, host: "127.0.0.1", path: "/health" }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (c: string) => (text += c));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject).end();
    });
    expect(h1).toBe("HTTP/1.1");

    const session = http2Connect(server.address().url);
    try {
      const call = (headers: Record<string, string>, body?: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const stream = session.request(headers);
          let status = 0;
          let text = "";
          stream.on("response", (h) => (status = Number(h[":status"])));
          stream.setEncoding("utf8").on("data", (c: string) => (text += c));
          stream.on("end", () => resolve({ status, text }));
          stream.on("error", reject);
          stream.end(body);
        });
      expect((await call({ ":path": "/health" })).text).toBe("HTTP/2.0");
      const rpc = await call(
        {
          ":method": "POST",
          ":path": "/shop.catalog.v1.CatalogService/GetProduct",
          "content-type": "application/json",
        },
        JSON.stringify({ id: "ok" }),
      );
      expect(rpc.status).toBe(200);
      expect(JSON.parse(rpc.text)).toMatchObject({ product: { name: "Kettle" } });
    } finally {
      session.close();
    }
  });

  describe.each(["1.1", "2"] as const)("close() over HTTP/%s", (httpVersion) => {
    it("lets an in-flight call finish, then refuses new connections", async () => {
      const probe = createProbe();
      const server = await start(probe, { closeTimeoutMs: 60_000 });
      const catalog = client(server, httpVersion);
      // A warm, idle keep-alive connection must not hold close() up.
      await catalog.getProduct({ id: "ok" });
      probe.reset();
      const inFlight = catalog.getProduct({ id: "wait" });
      await probe.started;
      const closed = server.close();
      expect(await connectionRefused(server.address().port)).toBe(true);
      probe.open();
      const { product } = await inFlight;
      expect(product?.name).toBe("Kettle");
      await closed;
      expect(probe.abortReasons).toEqual([]);
      const after = await failure(client(server, httpVersion).getProduct({ id: "ok" }));
      expect(after.code).toBe(Code.Unavailable);
    });

    it("bounds the drain by closeTimeoutMs, then drops the call and aborts its handler", async () => {
      const probe = createProbe();
      const server = await start(probe, { closeTimeoutMs: 50 });
      const inFlight = client(server, httpVersion).getProduct({ id: "wait" });
      await probe.started;
      await server.close();
      const error = await failure(inFlight);
      expect(error.code).toBe(Code.Unavailable);
      await vi.waitFor(() => expect(probe.abortReasons).toHaveLength(1));
      probe.open();
    });

    it("destroy() drops in-flight calls at once", async () => {
      const probe = createProbe();
      const server = await start(probe, { closeTimeoutMs: 60_000 });
      const inFlight = client(server, httpVersion).getProduct({ id: "wait" });
      await probe.started;
      await server.destroy();
      expect((await failure(inFlight)).code).toBe(Code.Unavailable);
      await vi.waitFor(() => expect(probe.abortReasons).toHaveLength(1));
      probe.open();
    });
  });

  it("sniffs the protocol even when the first bytes arrive one by one", async () => {
    const server = await start(createProbe());
    const socket = netConnect(server.address().port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (answer += chunk));
    await new Promise((resolve) => socket.once("connect", resolve));
    const body = JSON.stringify({ id: "ok" });
    const request =
      "POST /shop.catalog.v1.CatalogService/GetProduct HTTP/1.1\r\nHost: x\r\n" +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    // A lone "P" could still be the HTTP/2 preface ("PRI"): the server must wait for more.
    for (const piece of ["P", request.slice(1, 2), request.slice(2)]) {
      socket.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => socket.once("close", resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain("Kettle");
  });

  it("drops an HTTP/1.1 client that never finishes its headers", async () => {
    const server = await start(createProbe(), { headersTimeoutMs: 100 });
    const slow = netConnect(server.address().port, "127.0.0.1");
    slow.on("error", () => {});
    let answer = "";
    slow.setEncoding("utf8").on("data", (chunk: string) => (answer += chunk));
    await new Promise((resolve) => slow.once("connect", resolve));
    slow.write("POST /shop.catalog.v1.CatalogService/GetProduct HTTP/1.1\r\nHost: x\r\n");
    await new Promise((resolve) => slow.once("close", resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it("close() does not wait for connections that never sent a byte", async () => {
    const server = await start(createProbe(), {
      closeTimeoutMs: 60_000,
      idleFirstByteTimeoutMs: 60_000,
    });
    const silent = netConnect(server.address().port, "127.0.0.1");
    silent.on("error", () => {});
    await new Promise((resolve) => silent.once("connect", resolve));
    await server[Symbol.asyncDispose]();
    expect(await connectionRefused(server.address().port)).toBe(true);
    silent.destroy();
  });
});
