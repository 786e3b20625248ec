import { defineService } from "@plexus/core";
import { UsersService } from "../../gen/shop/users/v1/users_pb.js";
import { createUsersHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlSigningKeyStore } from "./adapters/sql-signing-key-store.ts";
import { createSqlUserRepository } from "./adapters/sql-user-repository.ts";
import { createAuthenticator } from "./app/authenticator.ts";
import { ensureSigningKey } from "./app/signing-key.ts";
import { createTokenIssuer } from "./app/token-issuer.ts";
import { readUsersConfig } from "./config.ts";
import { usersMigrations } from "./migrations.ts";

/**
 * Accounts and authentication: registration, credential checks, access tokens (EdDSA JWTs) and
 * the JWKS that verifies them. The signing key is made on the first start and kept in the
 * service's own database, so tokens stay valid across restarts and replicas.
 *
 * Config: `PLEXUS_JWT_ISSUER` (default `plexus-shop`), `PLEXUS_JWT_AUDIENCE` (default
 * `plexus-shop-api`).
 *
 * @example
 * const db = await storage.forService(usersService.name, usersService.migrations);
 * const { handlers } = await usersService.create({ ...env, db });
 */
export const usersService = defineService({
  name: "users",
  contract: UsersService,
  migrations: usersMigrations,
  create: async (env) => {
    const config = readUsersConfig(env.config);
    const users = createSqlUserRepository(env.db);
    const keys = createSqlSigningKeyStore(env.db);
    const key = await ensureSigningKey(keys);
    const tokens = await createTokenIssuer({
      key,
      publicKeys: await keys.publicKeys(),
      issuer: config.issuer,
      audience: config.audience,
      clock: env.clock,
    });
    return {
      handlers: createUsersHandlers({
        users,
        authenticator: createAuthenticator({ users }),
        tokens,
        clock: env.clock,
        logger: env.logger,
      }),
    };
  },
});
