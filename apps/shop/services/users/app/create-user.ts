import { randomUUID } from "node:crypto";
import { Code, PlexusError, type Clock } from "@plexus/core";
import { normalizeNewUser, type NewUserInput } from "../domain/new-user.ts";
import type { PasswordHasher } from "../domain/password-hash.ts";
import { defaultTier, type User } from "../domain/user.ts";
import type { UserRepository } from "./user-repository.ts";
import { nowIso } from "../../now-iso.ts";

export interface CreateUserDeps {
  readonly users: UserRepository;
  readonly clock: Clock;
  /** Hashes the password (scrypt at OWASP's parameters; tests may pass cheaper ones). */
  readonly hasher: PasswordHasher;
}

function emailExists(): PlexusError {
  return new PlexusError(Code.AlreadyExists, "a user with this email already exists", {
    reason: "EMAIL_EXISTS",
  });
}

/**
 * Registers a user: normalises, hashes the password, stores. Uniqueness is the database's job
 * (a unique index on `lower(email)`), so two concurrent registrations of one address cannot
 * both win; the lookup first only spares a hash for the common duplicate.
 *
 * @throws PlexusError `InvalidArgument` (`VALIDATION_ERROR`) or `AlreadyExists` (`EMAIL_EXISTS`).
 */
export async function createUser(deps: CreateUserDeps, input: NewUserInput): Promise<User> {
  const valid = normalizeNewUser(input);
  if (await deps.users.findByEmail(valid.email)) throw emailExists();
  const passwordHash = await deps.hasher.hash(valid.password);
  const user: User = {
    id: randomUUID(),
    email: valid.email,
    name: valid.name,
    tier: defaultTier,
    createdAt: nowIso(deps.clock),
  };
  const outcome = await deps.users.insert({ ...user, passwordHash });
  if (outcome === "email-taken") throw emailExists();
  return user;
}
