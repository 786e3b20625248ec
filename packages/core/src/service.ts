import type { DescService } from "@bufbuild/protobuf";
import type { Clock } from "./clock.ts";
import type { HttpClientFactory } from "./http-upstream.ts";
import type { Logger } from "./logger.ts";
import type { Client, ServiceHandlers } from "./rpc.ts";
import type { Projection } from "./projection.ts";
import type { EventConsumer, TransactionalOutbox } from "./service-events.ts";
import type { Db, Migration } from "./store.ts";

/** Hands out typed clients; the host decides whether a contract is called in-process or remotely. */
export interface ClientFactory {
  client<S extends DescService>(contract: S): Client<S>;
}

/**
 * What a host gives a service when it starts it. The service never learns where it runs.
 * Packages a service builds on add fields of their own by declaration merging, so core names
 * none of them (`@plexus/saga`'s `traceSagaStep`).
 */
export interface ServiceEnv {
  readonly name: string;
  /** The service's own database, bound to its own schema. */
  readonly db: Db;
  /** Where the service writes the events it publishes, in its own transactions. */
  readonly outbox: TransactionalOutbox;
  readonly clients: ClientFactory;
  /**
   * HTTP upstreams outside the toolkit (a card provider). The host wires them into the same
   * pipeline as `clients` and closes them when it stops, after the service's own `close`.
   */
  readonly http: HttpClientFactory;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Process environment (or a topology's overrides), read-only. */
  readonly config: Readonly<Record<string, string | undefined>>;
}

/**
 * A running service: its handlers and its optional lifecycle hooks (packages add fields by
 * declaration merging, as on `ServiceEnv`: `@plexus/saga`'s `sagas`).
 */
export interface ServiceInstance<S extends DescService> {
  readonly handlers: ServiceHandlers<S>;
  /** Readiness check of the service's own dependencies; throws or resolves false when not ready. */
  readonly ready?: () => Promise<boolean>;
  /** The service's event consumers; the host subscribes them before any event is relayed. */
  readonly consumers?: readonly EventConsumer[];
  /**
   * Starts the service's background work (e.g. resuming unfinished sagas). The host calls it once
   * every co-hosted service has its clients, consumers and outbox relay running.
   */
  readonly start?: () => Promise<void>;
  /** Graceful stop of the service's background work (sagas, timers). */
  readonly close?: () => Promise<void>;
}

/** A service, defined once: contract, migrations and a factory for its handlers. */
export interface ServiceDefinition<S extends DescService = DescService> {
  /** Unique name; also the name of its database schema. Lowercase letters, digits and `_`. */
  readonly name: string;
  readonly contract: S;
  readonly migrations: readonly Migration[];
  /**
   * Read models kept from the service's own event log: the host runs each (catch-up at start, then
   * on every new event), and `@plexus/projections` rebuilds them. Declared here, not by `create`,
   * so a tool can rebuild one from the database alone.
   */
  readonly projections?: readonly Projection[];
  readonly create: (env: ServiceEnv) => ServiceInstance<S> | Promise<ServiceInstance<S>>;
}

const serviceNamePattern = /^[a-z][a-z0-9_]{0,62}$/;
const projectionNamePattern = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Defines a service. Hosting is someone else's concern: the same definition runs in the monolith
 * or in its own process.
 *
 * @example
 * export const catalogService = defineService({
 *   name: "catalog",
 *   contract: CatalogService,
 *   migrations,
 *   create: ({ db }) => ({ handlers: createCatalogHandlers(db) }),
 * });
 */
export function defineService<S extends DescService>(
  definition: ServiceDefinition<S>,
): ServiceDefinition<S> {
  if (!serviceNamePattern.test(definition.name)) {
    throw new TypeError(
      `invalid service name "${definition.name}": use lowercase letters, digits and _`,
    );
  }
  const ids = definition.migrations.map((m) => m.id);
  if (new Set(ids).size !== ids.length) {
    throw new TypeError(`service "${definition.name}" has duplicate migration ids`);
  }
  const projections = (definition.projections ?? []).map((p) => p.name);
  for (const name of projections) {
    if (!projectionNamePattern.test(name)) {
      throw new TypeError(
        `service "${definition.name}": invalid projection name "${name}": use lowercase letters, digits, _ and -`,
      );
    }
  }
  if (new Set(projections).size !== projections.length) {
    throw new TypeError(`service "${definition.name}" has duplicate projection names`);
  }
  return definition;
}
