import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, PlexusError, createLogger, currentContext } from "@plexus/core";
import { createGateway, type Gateway } from "./gateway.ts";
import type { RouteInterceptor } from "./route.ts";
import { createTestClient } from "./test-client.ts";

describe("route interceptors", () => {
  let gateway: Gateway;
  let client: ReturnType<typeof createTestClient>;
  const log: string[] = [];
  let handled = 0;

  const logged =
    (name: string): RouteInterceptor =>
    (next) =>
    async (request) => {
      log.push(`>${name} ${currentContext()?.requestId === request.context.requestId}`);
      try {
        return await next(request);
      } finally {
        log.push(`<${name}`);
      }
    };
  /** Answers `/cached` itself, refuses `/forbidden`, rewrites `/old/:id` to the `new` id. */
  const policy: RouteInterceptor = (next) => async (request) => {
    if (request.params["id"] === "cached") return { body: { data: "from cache" } };
    if (request.params["id"] === "forbidden") {
      throw new PlexusError(Code.PermissionDenied, "not for you", { reason: "FORBIDDEN" });
    }
    return next({ ...request, params: { id: `new-${request.params["id"]}` } });
  };

  beforeAll(async () => {
    gateway = createGateway({
      logger: createLogger({ name: "t", level: "silent" }),
      rateLimit: false,
      interceptors: [logged("outer"), policy, logged("inner")],
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/items/:id",
      // A handler answering synchronously: the chain still settles it as a promise.
      handler: (request) => {
        handled++;
        log.push("handler");
        return { body: { data: request.params["id"] } };
      },
    });
    const { url } = await gateway.listen({ host: "127.0.0.1" });
    client = createTestClient(url);
  });
  afterAll(async () => {
    await client.close();
    await gateway.close();
  });

  it("run the first listed outermost, in the request's context, and may rewrite the request", async () => {
    log.length = 0;
    const res = await client.call("GET", "/api/v1/items/7");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: "new-7" });
    expect(log).toEqual([">outer true", ">inner true", "handler", "<inner", "<outer"]);
  });

  it("may answer for the handler", async () => {
    const before = handled;
    const res = await client.call("GET", "/api/v1/items/cached");
    expect(res.json).toEqual({ data: "from cache" });
    expect(handled).toBe(before);
  });

  it("a throwing interceptor is answered as a handler's error, in the error shape", async () => {
    const res = await client.call("GET", "/api/v1/items/forbidden");
    expect(res.status).toBe(403);
    expect(res.json?.error).toMatchObject({ code: "FORBIDDEN", message: "not for you" });
  });

  it("leave the built-in routes alone", async () => {
    log.length = 0;
    expect((await client.call("GET", "/health/live")).status).toBe(200);
    expect((await client.call("GET", "/metrics")).status).toBe(200);
    expect(log).toEqual([]);
  });
});
