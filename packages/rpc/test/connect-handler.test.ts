import { createServer, type Server } from "node:http";
import { createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { createClient, createConnectHandler, createNetworkTransport } from "@plexus/rpc";
import { afterEach, describe, expect, it } from "vitest";
import { CatalogService, catalogBinding, createProbe } from "./fixtures.ts";

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function listen(server: Server | Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("createConnectHandler on plain Node servers", () => {
  it("serves from http.createServer and http2.createServer alike", async () => {
    const handler = createConnectHandler({ services: [catalogBinding(createProbe())] });
    const h1 = createServer(handler);
    const h2 = createHttp2Server(handler);
    for (const [server, httpVersion] of [
      [h1, "1.1"],
      [h2, "2"],
    ] as const) {
      const transport = createNetworkTransport({ baseUrl: await listen(server), httpVersion });
      cleanups.push(async () => {
        await transport.destroy();
        await new Promise((resolve) => server.close(resolve));
      });
      const { product } = await createClient(CatalogService, transport).getProduct({ id: "ok" });
      expect(product?.name).toBe("Kettle");
    }
  });
});
