import { LeaseHolder, takeableLease, type Clock, type Db, type Logger } from "@plexus/core";

/** The claim of one relay to be its service's only publisher (`plexus_outbox_lease`). */
export interface RelayLease {
  /** Whether the last take or renewal got the lease. */
  readonly leader: boolean;
  /** Counts as alive and renews the lease while held (ADR 10). */
  open(): void;
  /** Takes the lease unless held (the heartbeat renews it); false while another holds it. */
  hold(): Promise<boolean>;
  /** Deletes the lease row if this relay holds it, so a standby takes over at once. */
  close(): Promise<void>;
  /** Stops renewing without a statement: the lease runs out (or dies with this process). */
  drop(): void;
}

export interface RelayLeaseSettings {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly relayName: string;
  readonly leaseTtlMs: number;
}

const take = `INSERT INTO plexus_outbox_lease (name, owner, expires_at) VALUES ($1, $2, $3)
  ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
  WHERE ${takeableLease({
    ownerColumn: "plexus_outbox_lease.owner",
    untilColumn: "plexus_outbox_lease.expires_at",
    owner: "$2",
    now: "$4",
    alive: "$5",
  })}
  RETURNING owner`;

/**
 * Only the holder of the lease row publishes, so replicas of a service do not publish the same
 * subject concurrently (which could reorder it); a crashed holder's lease expires after
 * `leaseTtlMs` — or at once on an exclusive database (`Db.exclusive`), where a holder that is not
 * alive in this process can only be a dead process's. The lease is core's `LeaseHolder` over one
 * named row.
 */
export function createRelayLease(settings: RelayLeaseSettings): RelayLease {
  const { db, logger, relayName, leaseTtlMs } = settings;
  let leader = false;

  async function takeOrRenew(holder: LeaseHolder): Promise<boolean> {
    const { owner, now, until, alive } = holder.terms();
    const { rows } = await db.query(take, [relayName, owner, until, now, alive]);
    const was = leader;
    leader = rows.length === 1;
    if (leader !== was) {
      logger?.info(
        { relay: relayName, leader },
        leader ? "outbox relay leads" : "outbox relay stands by",
      );
    }
    return leader;
  }

  const holder = new LeaseHolder({
    db,
    clock: settings.clock,
    ttlMs: leaseTtlMs,
    logger,
    leased: {
      async renew(self) {
        if (leader) await takeOrRenew(self);
      },
      async release(self) {
        if (!leader) return;
        await db.query("DELETE FROM plexus_outbox_lease WHERE name = $1 AND owner = $2", [
          relayName,
          self.owner,
        ]);
      },
    },
  });

  return {
    get leader() {
      return leader;
    },
    open: () => holder.open(),
    hold: () => (leader ? Promise.resolve(true) : takeOrRenew(holder)),
    close: () => holder.close(),
    drop: () => holder.drop(),
  };
}
