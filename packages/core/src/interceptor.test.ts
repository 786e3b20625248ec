import type { DescMethod } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { chainInterceptors } from "./interceptor.ts";
import type { RpcInterceptor, UnaryRequest, UnaryResponse } from "./rpc.ts";

const request = {
  method: {} as DescMethod,
  message: {},
  header: new Headers(),
  context: { correlationId: "c", requestId: "r" },
  signal: new AbortController().signal,
} as unknown as UnaryRequest;

describe("chainInterceptors", () => {
  it("runs the first interceptor outermost and the last function innermost", async () => {
    const order: string[] = [];
    const tag =
      (name: string): RpcInterceptor =>
      (next) =>
        async function tagged(req) {
          order.push(`${name}:in`);
          const res = await next(req);
          order.push(`${name}:out`);
          return res;
        };
    const last = async (): Promise<UnaryResponse> => {
      order.push("handler");
      return { message: {}, header: new Headers({ "x-from": "handler" }) } as UnaryResponse;
    };
    const res = await chainInterceptors([tag("a"), tag("b"), tag("c")], last)(request);
    expect(order).toEqual(["a:in", "b:in", "c:in", "handler", "c:out", "b:out", "a:out"]);
    expect(res.header.get("x-from")).toBe("handler");
  });

  it("lets an interceptor short-circuit and rewrite requests", async () => {
    const seen: string[] = [];
    const addHeader: RpcInterceptor = (next) =>
      async function addHeader(req) {
        req.header.set("x-added", "1");
        return next(req);
      };
    const deny: RpcInterceptor = () =>
      async function deny(req) {
        seen.push(req.header.get("x-added") ?? "missing");
        throw new Error("denied");
      };
    const never = async (): Promise<UnaryResponse> => {
      throw new Error("must not be reached");
    };
    await expect(chainInterceptors([addHeader, deny], never)(request)).rejects.toThrow("denied");
    expect(seen).toEqual(["1"]);
  });

  it("is the last function itself without interceptors", () => {
    const last = async (): Promise<UnaryResponse> =>
      ({ message: {}, header: new Headers() }) as UnaryResponse;
    expect(chainInterceptors([], last)).toBe(last);
  });
});
