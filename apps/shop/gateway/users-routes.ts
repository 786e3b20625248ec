import { Code, PlexusError, type Client } from "@plexus/core";
import { parseWith, type Gateway, type GatewayRequest } from "@plexus/gateway";
import { z } from "zod";
import { presentUser } from "./present.ts";
import { credentialsPolicy } from "./shop-gateway-config.ts";
import type { User, UsersService } from "../gen/shop/users/v1/users_pb.js";

const CreateUserBody = z.strictObject({
  email: z.string(),
  name: z.string(),
  password: z.string(),
});
const TokenBody = z.strictObject({ email: z.string(), password: z.string() });

/** v1 of the users resource is on its way out: clients learn it from every v1 response. */
const v1Deprecation = {
  deprecatedAt: new Date("2026-09-01T00:00:00Z"),
  sunset: new Date("2027-09-01T00:00:00Z"),
  successor: (params: Readonly<Record<string, string>>) =>
    `/api/v2/users/${encodeURIComponent(params["id"] ?? "")}`,
};

function presentV2(user: User) {
  return { id: user.id, fullName: user.name, emailAddress: user.email, createdAt: user.createdAt };
}

/**
 * Reads the caller's own user. Another user's id answers exactly like an unknown one: a 404 must
 * not reveal that the account exists.
 */
async function readSelf(users: Client<typeof UsersService>, req: GatewayRequest): Promise<User> {
  const id = req.params["id"] ?? "";
  if (req.principal?.subject !== id) {
    throw new PlexusError(Code.NotFound, "user not found", { reason: "USER_NOT_FOUND" });
  }
  const { user } = await users.getUser({ id });
  if (!user) throw new PlexusError(Code.NotFound, "user not found", { reason: "USER_NOT_FOUND" });
  return user;
}

/** API.md "Auth" and "Users". */
export function addUsersRoutes(gateway: Gateway, users: Client<typeof UsersService>): void {
  gateway.route({
    method: "POST",
    path: "/api/v1/users",
    auth: false,
    rateLimitPolicy: credentialsPolicy,
    handler: async (req) => {
      const body = parseWith(CreateUserBody, req.body);
      const { user } = await users.createUser(body);
      if (!user) throw new PlexusError(Code.Internal, "user service returned no user");
      return {
        status: 201,
        headers: { location: `/api/v1/users/${encodeURIComponent(user.id)}` },
        body: { data: presentUser(user) },
      };
    },
  });

  gateway.route({
    method: "POST",
    path: "/api/v1/auth/token",
    auth: false,
    rateLimitPolicy: credentialsPolicy,
    handler: async (req) => {
      const body = parseWith(TokenBody, req.body);
      const token = await users.issueToken(body);
      return {
        // RFC 6749 §5.1: responses carrying tokens must not be cached.
        headers: { "cache-control": "no-store" },
        body: { accessToken: token.accessToken, tokenType: "Bearer", expiresIn: token.expiresIn },
      };
    },
  });

  gateway.route({
    method: "GET",
    path: "/api/v1/users/:id",
    auth: true,
    deprecation: v1Deprecation,
    handler: async (req) => {
      const user = await readSelf(users, req);
      const self = `/api/v1/users/${encodeURIComponent(user.id)}`;
      return { body: { data: presentUser(user), _links: { self, orders: "/api/v1/me/orders" } } };
    },
  });

  gateway.route({
    method: "GET",
    path: "/api/v2/users/:id",
    auth: true,
    handler: async (req) => ({ body: { data: presentV2(await readSelf(users, req)) } }),
  });

  gateway.route({
    method: "GET",
    path: "/.well-known/jwks.json",
    auth: false,
    handler: async () => {
      const { jwksJson } = await users.getJwks({});
      return {
        headers: {
          "content-type": "application/jwk-set+json",
          "cache-control": "public, max-age=300",
        },
        body: jwksJson,
      };
    },
  });
}
