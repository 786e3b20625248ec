import {
  createLogger,
  systemClock,
  type ClientFactory,
  type HttpClientFactory,
  type ServiceEnv,
  type TransactionalOutbox,
} from "@plexus/core";

function refuse(what: string): never {
  throw new Error(`this test did not expect ${what}; pass one in createServiceTestEnv's overrides`);
}

const noClients: ClientFactory = { client: () => refuse("a call to another service") };

const noHttp: HttpClientFactory = { upstream: () => refuse("an HTTP upstream") };

const noOutbox: TransactionalOutbox = {
  add: () => refuse("an event to be published"),
  transaction: () => refuse("an event to be published"),
};

/**
 * A `ServiceEnv` for handler tests: the caller supplies the real pieces the test exercises (its
 * `db`, and an outbox, clients or `http` — e.g. `@plexus/rpc`'s `createHttpClients()` — when the
 * service uses them); anything else the service touches fails loudly instead of silently doing
 * nothing.
 */
export function createServiceTestEnv(
  env: Partial<ServiceEnv> & Pick<ServiceEnv, "name" | "db">,
): ServiceEnv {
  return {
    clients: noClients,
    http: noHttp,
    outbox: noOutbox,
    logger: createLogger({ name: `${env.name}-test`, level: "silent" }),
    clock: systemClock,
    config: {},
    ...env,
  };
}
