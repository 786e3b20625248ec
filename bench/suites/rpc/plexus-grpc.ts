/**
 * `plexus-grpc`: Plexus's RPC server (`createRpcServer`) answering the gRPC protocol, called by
 * the same grpc-js client as `raw-grpc-js` (one HTTP/2 channel, the generated types'
 * serialisers). The server is wired as a host wires it without an OTLP endpoint: the host's
 * server interceptors (tracing off) and service identity (ADR 13), so the client sends a
 * service token as metadata on every call, as a Plexus caller would.
 */
import { serverInterceptors } from "@plexus/host";
import {
  bindService,
  createRpcServer,
  createServiceAuthenticator,
  createServiceCredentials,
  headerServiceToken,
} from "@plexus/rpc";
import type { RpcContender } from "./contender.ts";
import { served, serviceKey, startTracing, type CatalogHandlers } from "./plexus.ts";
import { CatalogService } from "./product.ts";
import { connectGrpcJs } from "./raw-grpc-js.ts";

export function plexusGrpc(): RpcContender {
  return {
    async serve() {
      const tracing = await startTracing("bench-catalog", false);
      const server = await createRpcServer({
        services: [bindService(CatalogService, served as CatalogHandlers)],
        serviceName: "bench-catalog",
        interceptors: serverInterceptors(tracing),
        authenticator: createServiceAuthenticator({ key: serviceKey }),
      });
      return {
        endpoint: `127.0.0.1:${server.address().port}`,
        async close() {
          await server.close();
          await tracing.shutdown();
        },
      };
    },
    connect(endpoint) {
      const caller = "bench-client";
      const credentials = createServiceCredentials({ key: serviceKey, service: caller });
      const callee = CatalogService.typeName;
      return connectGrpcJs(endpoint, () => [
        headerServiceToken,
        credentials.tokenFor(caller, callee),
      ]);
    },
  };
}
