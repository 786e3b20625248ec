import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Clock, Logger, ServiceHandlers } from "@plexus/core";
import type { UserSchema, UsersService } from "../../../gen/shop/users/v1/users_pb.js";
import type { Authenticator } from "../app/authenticator.ts";
import { createUser } from "../app/create-user.ts";
import { getUser } from "../app/get-user.ts";
import type { TokenIssuer } from "../app/token-issuer.ts";
import type { UserRepository } from "../app/user-repository.ts";
import type { PasswordHasher } from "../domain/password-hash.ts";
import type { User } from "../domain/user.ts";

export interface UsersHandlersOptions {
  readonly users: UserRepository;
  readonly authenticator: Authenticator;
  readonly tokens: TokenIssuer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Hashes the passwords of new users. */
  readonly hasher: PasswordHasher;
}

function toMessage(user: User): MessageInitShape<typeof UserSchema> {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt };
}

/** The UsersService contract. Requests are never logged: they carry passwords. */
export function createUsersHandlers(
  options: UsersHandlersOptions,
): ServiceHandlers<typeof UsersService> {
  const { users, authenticator, tokens, logger } = options;
  return {
    async createUser(request) {
      const user = await createUser(
        { users, clock: options.clock, hasher: options.hasher },
        request,
      );
      logger.info({ userId: user.id }, "user created");
      return { user: toMessage(user) };
    },
    async issueToken(request) {
      const user = await authenticator.authenticate(request.email, request.password);
      const token = await tokens.issue(user.id, user.tier);
      return { accessToken: token.accessToken, expiresIn: token.expiresIn };
    },
    async getUser(request, ctx) {
      return { user: toMessage(await getUser(users, request.id, ctx.context.principal)) };
    },
    async getJwks() {
      return { jwksJson: JSON.stringify(tokens.jwks()) };
    },
  };
}
