import { randomUUID } from "node:crypto";
import { liveLeaseOwners, type Clock, type Db, type Logger } from "@plexus/core";

/** The claim of one relay to be its service's only publisher (`plexus_outbox_lease`). */
export interface RelayLease {
  /** This relay's id in the lease row, registered in `liveLeaseOwners` while it runs. */
  readonly owner: string;
  /** Whether the last `hold()` got the lease. */
  readonly leader: boolean;
  /** Takes or renews the lease (a query only every TTL/3 while held); false while another holds it. */
  hold(): Promise<boolean>;
  /** Deletes the lease row if this relay holds it, so a standby takes over at once. */
  release(): Promise<void>;
}

export interface RelayLeaseSettings {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly relayName: string;
  readonly leaseTtlMs: number;
}

/**
 * Only the holder of the lease row publishes, so replicas of a service do not publish the same
 * subject concurrently (which could reorder it); a crashed holder's lease expires after
 * `leaseTtlMs` — or at once on an exclusive database (`Db.exclusive`), where a holder that is not
 * a live relay of this process can only be a dead process's.
 */
export function createRelayLease(settings: RelayLeaseSettings): RelayLease {
  const { db, clock, logger, relayName, leaseTtlMs } = settings;
  const owner = randomUUID();
  let renewAt = -Infinity;
  let leader = false;

  return {
    owner,
    get leader() {
      return leader;
    },
    async hold() {
      const now = clock.now();
      if (leader && now < renewAt) return true;
      const { rows } = await db.query(
        `INSERT INTO plexus_outbox_lease (name, owner, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE plexus_outbox_lease.owner = EXCLUDED.owner OR plexus_outbox_lease.expires_at < $4
           OR plexus_outbox_lease.owner <> ALL($5::text[])
         RETURNING owner`,
        // On a shared database the other holders are unknown (NULL: `<> ALL` is never true).
        [
          relayName,
          owner,
          now + leaseTtlMs,
          now,
          db.exclusive ? liveLeaseOwners.besides(owner) : null,
        ],
      );
      const was = leader;
      leader = rows.length === 1;
      renewAt = now + leaseTtlMs / 3;
      if (leader !== was) {
        logger?.info(
          { relay: relayName, leader },
          leader ? "outbox relay leads" : "outbox relay stands by",
        );
      }
      return leader;
    },
    async release() {
      if (!leader) return;
      await db
        .query("DELETE FROM plexus_outbox_lease WHERE name = $1 AND owner = $2", [relayName, owner])
        .catch((error: unknown) =>
          logger?.warn({ err: error }, "could not release the outbox lease"),
        );
    },
  };
}
