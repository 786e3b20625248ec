import type { User, UserWithCredentials } from "../domain/user.ts";

/** Persistence of users (the port the SQL adapter implements). */
export interface UserRepository {
  /**
   * Stores a new user. Resolves `"email-taken"` when another user already has the email in any
   * letter case — also when that user was inserted concurrently.
   */
  insert(user: UserWithCredentials): Promise<"created" | "email-taken">;
  /** Case-insensitive lookup by email. */
  findByEmail(email: string): Promise<UserWithCredentials | undefined>;
  /** Lookup by id; any string is accepted, a malformed id simply matches nothing. */
  findById(id: string): Promise<User | undefined>;
}
