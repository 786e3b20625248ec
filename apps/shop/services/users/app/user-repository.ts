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
  /**
   * Replaces a user's password hash if it is still `expected` (compare-and-set): of two logins
   * re-hashing at once, one write wins and the other changes nothing. Resolves whether it wrote.
   */
  replacePasswordHash(id: string, expected: string, next: string): Promise<boolean>;
  /** Lookup by id; any string is accepted, a malformed id simply matches nothing. */
  findById(id: string): Promise<User | undefined>;
}
