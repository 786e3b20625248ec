import { create } from "@bufbuild/protobuf";
import { Code, PlexusError, type UnaryRequest } from "@plexus/core";
import { describe, expect, it } from "vitest";
import {
  GetUserRequestSchema,
  GetUserResponseSchema,
  UsersService,
} from "../../../apps/shop/gen/shop/users/v1/users_pb.js";
import { createMetrics } from "./metrics.ts";
import { rpcMetricsInterceptor } from "./rpc-metrics-interceptor.ts";

function requestFor(): UnaryRequest {
  return {
    method: UsersService.method.getUser,
    message: create(GetUserRequestSchema, { id: "u1" }),
    header: new Headers(),
    context: { correlationId: "c", requestId: "r", signal: new AbortController().signal },
  };
}

describe("rpcMetricsInterceptor", () => {
  it("counts successes and failures per caller, callee, method and code", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const ok = rpcMetricsInterceptor(
      metrics,
      "gateway",
    )(async () => ({
      message: create(GetUserResponseSchema, {}),
      header: new Headers(),
    }));
    const failing = rpcMetricsInterceptor(
      metrics,
      "gateway",
    )(async () => {
      throw new PlexusError(Code.Unavailable, "down");
    });
    await ok(requestFor());
    await expect(failing(requestFor())).rejects.toThrow("down");
    const { body } = await metrics.render();
    expect(body).toContain(
      'plexus_rpc_client_calls_total{caller="gateway",callee="shop.users.v1.UsersService",method="GetUser",code="ok"} 1',
    );
    expect(body).toContain('method="GetUser",code="unavailable"} 1');
  });
});
