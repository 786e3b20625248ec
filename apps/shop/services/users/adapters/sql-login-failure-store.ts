import type { Db } from "@plexus/core";
import type { LoginFailureStore } from "../app/login-failure-store.ts";
import { decideLoginAttempt } from "../domain/login-limit.ts";

/** The failed-login log in the users service's `login_failures` table. */
export function createSqlLoginFailureStore(db: Db): LoginFailureStore {
  return {
    attempt(account, now, policy) {
      return db.transaction(async (tx) => {
        // A row to lock first: concurrent first attempts meet on the primary key, and the
        // loser waits for the winner's row, then sees its failure.
        await tx.query(
          `INSERT INTO login_failures (account, failures_ms, expires_ms) VALUES ($1, '{}', 0)
           ON CONFLICT (account) DO NOTHING`,
          [account],
        );
        const { rows } = await tx.query<{ failures_ms: number[] }>(
          "SELECT failures_ms FROM login_failures WHERE account = $1 FOR UPDATE",
          [account],
        );
        const decision = decideLoginAttempt(rows[0]?.failures_ms ?? [], now, policy);
        const newest = Math.max(...decision.failures);
        await tx.query(
          "UPDATE login_failures SET failures_ms = $2, expires_ms = $3 WHERE account = $1",
          [account, decision.failures, newest + policy.windowMs],
        );
        return decision;
      });
    },
    async forgive(account) {
      await db.query("DELETE FROM login_failures WHERE account = $1", [account]);
    },
    async prune(now, limit) {
      // SKIP LOCKED: a row an attempt holds is live anyway; waiting for it could deadlock.
      const result = await db.query(
        `DELETE FROM login_failures WHERE account IN (
           SELECT account FROM login_failures WHERE expires_ms <= $1
           ORDER BY expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [now, limit],
      );
      return result.rowCount;
    },
  };
}
