import type { DescService } from "@bufbuild/protobuf";
import { Code, PlexusError, type ClientFactory, type Clock, type Transport } from "@plexus/core";
import type { Metrics, Tracing } from "@plexus/observability";
import type { ClientResilience } from "@plexus/resilience";
import { createClient, createInProcessTransport, type ServiceBinding } from "@plexus/rpc";
import { clientInterceptors, serverInterceptors } from "./call-interceptors.ts";

export interface LocalClients {
  /** Typed clients for `caller`, reaching the co-hosted services in-process. */
  clientsFor(caller: string): ClientFactory;
  /** Makes the clients live once every co-hosted service has its handlers. */
  bind(bindings: readonly ServiceBinding[]): void;
}

/**
 * Clients of the services hosted in this process. Services get their clients before every
 * service is built (they are built in order), so calls placed before `bind` fail as UNAVAILABLE —
 * which callers already treat as "retry later" — instead of racing the host's construction.
 */
export function createLocalClients(options: {
  contracts: readonly DescService[];
  clock: Clock;
  metrics: Metrics;
  /** The host's one client pipeline state (see `createHostResilience`). */
  resilience: ClientResilience;
  /** The host's tracing: a CLIENT span per call, a SERVER span per handled call. */
  tracing: Tracing;
}): LocalClients {
  const { resilience } = options;
  const hosted = new Set(options.contracts.map((c) => c.typeName));
  let target: Transport | undefined;
  const transport: Transport = {
    unary(request) {
      if (!target) return Promise.reject(new PlexusError(Code.Unavailable, "service is starting"));
      return target.unary(request);
    },
  };
  return {
    clientsFor(caller) {
      const interceptors = clientInterceptors({
        caller,
        metrics: options.metrics,
        tracing: options.tracing,
        resilience,
      });
      return {
        client<S extends DescService>(contract: S) {
          if (!hosted.has(contract.typeName)) {
            throw new TypeError(
              `${caller}: no route to ${contract.typeName}; place its service in this host's topology`,
            );
          }
          return createClient(contract, transport, { caller, clock: options.clock, interceptors });
        },
      };
    },
    bind(bindings) {
      target = createInProcessTransport({
        services: bindings,
        clock: options.clock,
        // The same server interceptors as the host's Connect server.
        interceptors: serverInterceptors(options.tracing),
      });
    },
  };
}
