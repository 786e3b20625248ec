import { defineService } from "@plexus/core";
import { UsersService } from "../../gen/shop/users/v1/users_pb.js";
import { createUsersHandlers } from "./adapters/rpc-handlers.ts";
import { createSqlLoginFailureStore } from "./adapters/sql-login-failure-store.ts";
import { createSqlSigningKeyStore } from "./adapters/sql-signing-key-store.ts";
import { createSqlUserRepository } from "./adapters/sql-user-repository.ts";
import { createAuthenticator } from "./app/authenticator.ts";
import { ensureSigningKey } from "./app/signing-key.ts";
import { createTokenIssuer } from "./app/token-issuer.ts";
import { readUsersConfig } from "./config.ts";
import { createPasswordHasher } from "./domain/password-hash.ts";
import { usersMigrations } from "./migrations.ts";

/**
 * Accounts and authentication: registration, credential checks, access tokens (EdDSA JWTs) and
 * the JWKS that verifies them. The signing key is made on the first start and kept in the
 * service's own database, so tokens stay valid across restarts and replicas.
 *
 * Passwords are hashed with scrypt at OWASP's parameters; failed logins are limited per account
 * in the service's database (see the README).
 *
 * Config: `PLEXUS_JWT_ISSUER` (default `plexus-shop`), `PLEXUS_JWT_AUDIENCE` (default
 * `plexus-shop-api`), `PLEXUS_LOGIN_MAX_FAILURES` (5), `PLEXUS_LOGIN_FAILURE_WINDOW_MS` (900 000).
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
    const hasher = createPasswordHasher();
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
        hasher,
        authenticator: createAuthenticator({
          users,
          hasher,
          failures: createSqlLoginFailureStore(env.db),
          policy: config.loginLimit,
          clock: env.clock,
          logger: env.logger,
        }),
        tokens,
        clock: env.clock,
        logger: env.logger,
      }),
    };
  },
});
