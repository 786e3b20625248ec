import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import type { ClientFactory, Clock, HealthRegistry, Logger, ServiceDefinition } from "@plexus/core";
import type { Metrics, Tracing } from "@plexus/observability";
import type { ClientResilienceOptions } from "@plexus/resilience";

/** What a host gives its edge (the public HTTP app, e.g. the shop's gateway). */
export interface EdgeEnv {
  readonly clients: ClientFactory;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly config: Readonly<Record<string, string | undefined>>;
  /** The host's health: readiness of storage and of every hosted service. */
  readonly health: HealthRegistry;
  /**
   * The host's tracing (off unless an OTLP endpoint is configured): give it to the gateway
   * (`GatewayOptions.tracing`) so each request gets its SERVER span.
   */
  readonly tracing: Tracing;
}

/** A public HTTP application served by a host on `PORT`. */
export interface EdgeApp {
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Answers HTTP protocol errors (malformed requests, headers too large) in the app's shape. */
  readonly handleClientError?: (error: Error, socket: Socket) => void;
  close?(): Promise<void>;
}

export type EdgeFactory = (env: EdgeEnv) => EdgeApp | Promise<EdgeApp>;

/** One process: the services it hosts and, optionally, the public edge it serves. */
export interface HostSpec {
  readonly name: string;
  readonly services: readonly ServiceDefinition<DescService>[];
  readonly edge?: EdgeFactory;
  /**
   * Resilience policies of this host's outgoing calls, per callee (fully-qualified service name)
   * and per method, over Plexus's defaults (`@plexus/resilience`'s `defaultCalleePolicies`).
   */
  readonly resilience?: ClientResilienceOptions;
}

/** Which services run in which hosts. Moving a service between hosts changes no service code. */
export interface Topology {
  readonly name: string;
  readonly hosts: readonly HostSpec[];
}

/**
 * Declares a topology; `plexus up <file>` starts it.
 *
 * @example
 * export default defineTopology({
 *   name: "monolith",
 *   hosts: [{ name: "shop", services: [usersService, catalogService], edge: createShopGateway }],
 * });
 */
export function defineTopology(topology: Topology): Topology {
  const hostNames = new Set<string>();
  const serviceNames = new Set<string>();
  for (const host of topology.hosts) {
    if (hostNames.has(host.name)) throw new TypeError(`duplicate host "${host.name}"`);
    hostNames.add(host.name);
    for (const service of host.services) {
      if (serviceNames.has(service.name)) {
        throw new TypeError(`service "${service.name}" is placed in more than one host`);
      }
      serviceNames.add(service.name);
    }
  }
  return topology;
}
