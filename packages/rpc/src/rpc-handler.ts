import {
  createCallSetup,
  type RpcHandlerOptions,
  type RpcRequest,
  type RpcRequestListener,
  type RpcResponse,
} from "./call-setup.ts";
import { connectListener } from "./protocol-connect/connect-handler.ts";
import { grpcListener } from "./protocol-grpc/grpc-handler.ts";
import { grpcContentTypePrefix } from "./protocol-grpc/grpc-protocol.ts";

/**
 * A Node request listener serving every protocol of the RPC port on the same handlers: gRPC and
 * gRPC-Web for requests whose `content-type` starts `application/grpc`, Connect for the rest.
 * One method table, so interceptors, validation, service identity and deadlines are the same
 * whatever the protocol. Works for `http.createServer` (Connect, gRPC-Web) and
 * `http2.createServer` (all three).
 *
 * @example
 * const server = http2.createServer(
 *   createRpcHandler({ services: [bindService(UsersService, usersHandlers)] }),
 * );
 */
export function createRpcHandler(options: RpcHandlerOptions): RpcRequestListener {
  const setup = createCallSetup(options);
  const connect = connectListener(setup);
  const grpc = grpcListener(setup);
  return function handleRpcRequest(req: RpcRequest, res: RpcResponse): void {
    const type = req.headers["content-type"];
    if (type !== undefined && type.startsWith(grpcContentTypePrefix)) grpc(req, res);
    else connect(req, res);
  };
}
