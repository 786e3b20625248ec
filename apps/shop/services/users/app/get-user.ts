import { Code, PlexusError, type Principal } from "@plexus/core";
import type { User } from "../domain/user.ts";
import type { UserRepository } from "./user-repository.ts";

/**
 * Reads one user. A caller authenticated as someone else gets the same answer as for an absent
 * user, so a user id never reveals whether it exists (the gateway checks this too; checking here
 * as well keeps the rule when the service is reached another way).
 *
 * @throws PlexusError `NotFound` (`USER_NOT_FOUND`).
 */
export async function getUser(
  users: UserRepository,
  id: string,
  principal: Principal | undefined,
): Promise<User> {
  const user = principal && principal.subject !== id ? undefined : await users.findById(id);
  if (!user) throw new PlexusError(Code.NotFound, "user not found", { reason: "USER_NOT_FOUND" });
  return user;
}
