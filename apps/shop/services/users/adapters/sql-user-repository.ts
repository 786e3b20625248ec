import type { Sql } from "@plexus/core";
import { isUniqueViolation } from "@plexus/storage";
import type { UserRepository } from "../app/user-repository.ts";
import type { User, UserWithCredentials } from "../domain/user.ts";
import { sqlRfc3339 } from "../../sql-rfc3339.ts";

interface UserRow {
  id: string;
  email: string;
  name: string;
  tier: string;
  created_at: string;
  password_hash: string;
}

const userColumns = `id, email, name, tier,
  ${sqlRfc3339("created_at")} AS created_at`;

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    tier: row.tier,
    createdAt: row.created_at,
  };
}

/** Users in the users service's own schema. */
export function createSqlUserRepository(db: Sql): UserRepository {
  return {
    async insert(user) {
      try {
        await db.query(
          `INSERT INTO users (id, email, name, password_hash, tier, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::timestamptz)`,
          [user.id, user.email, user.name, user.passwordHash, user.tier, user.createdAt],
        );
        return "created";
      } catch (error) {
        // The unique index on lower(email) is the only one a fresh UUID can realistically hit.
        if (isUniqueViolation(error)) return "email-taken";
        throw error;
      }
    },
    async findByEmail(email): Promise<UserWithCredentials | undefined> {
      const result = await db.query<UserRow>(
        `SELECT ${userColumns}, password_hash FROM users WHERE lower(email) = lower($1)`,
        [email],
      );
      const row = result.rows[0];
      return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
    },
    async replacePasswordHash(id, expected, next) {
      const result = await db.query(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        [id, expected, next],
      );
      return result.rowCount === 1;
    },
    async findById(id) {
      const result = await db.query<UserRow>(`SELECT ${userColumns} FROM users WHERE id = $1`, [
        id,
      ]);
      const row = result.rows[0];
      return row ? toUser(row) : undefined;
    },
  };
}
