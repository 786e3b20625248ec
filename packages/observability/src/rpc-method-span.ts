import type { Attributes } from "@opentelemetry/api";
import type { UnaryRequest } from "@plexus/core";

/**
 * Plexus speaks the Connect protocol's model (its codes, its names) on every transport, in
 * process included; OpenTelemetry's RPC conventions (semconv 1.45, stable) call it `connectrpc`.
 */
const rpcSystemName = "connectrpc";

/** The name and attributes every span of one RPC method carries, on either side of the wire. */
export interface RpcMethodSpan {
  /** `<service>/<method>`: `shop.catalog.v1.CatalogService/GetProduct`. */
  readonly name: string;
  /** `rpc.system.name` and `rpc.method`. */
  readonly attributes: Attributes;
}

/** Built once per method (the SDK copies attributes, never mutates them). */
const methodSpans = new WeakMap<UnaryRequest["method"], RpcMethodSpan>();

/**
 * The span name and OpenTelemetry RPC attributes of `method`, shared by the client and server
 * interceptors so both ends of a call read the same in a trace.
 */
export function rpcMethodSpan(method: UnaryRequest["method"]): RpcMethodSpan {
  let found = methodSpans.get(method);
  if (found === undefined) {
    const name = `${method.parent.typeName}/${method.name}`;
    found = { name, attributes: { "rpc.system.name": rpcSystemName, "rpc.method": name } };
    methodSpans.set(method, found);
  }
  return found;
}
