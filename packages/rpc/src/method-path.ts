import type { DescMethod } from "@bufbuild/protobuf";

/*
 * Connect and gRPC (and gRPC-Web) address a unary method by the same HTTP path, so it belongs to
 * no one protocol: the method table routes by it, every network client sends it.
 */

const pathByMethod = new WeakMap<DescMethod, string>();

/** `/<package.Service>/<Method>`, the request path of a method (cached: it is asked per call). */
export function methodPath(method: DescMethod): string {
  let path = pathByMethod.get(method);
  if (path === undefined) {
    path = `/${method.parent.typeName}/${method.name}`;
    pathByMethod.set(method, path);
  }
  return path;
}
