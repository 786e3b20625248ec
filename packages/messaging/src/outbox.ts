import {
  Code,
  PlexusError,
  systemClock,
  type BackoffOptions,
  type Broker,
  type Clock,
  type CloudEvent,
  type Db,
  type Logger,
  type Sql,
} from "@plexus/core";
import { ensureMessagingTables } from "./messaging-tables.ts";
import { createOutboxRelay, outboxChannel } from "./outbox-relay.ts";
import type { PublishInterceptor } from "./publish-call.ts";
import { parseCloudEvent } from "./parse-cloud-event.ts";

export interface OutboxOptions {
  /** The service's own database: the outbox table lives in its schema. */
  db: Db;
  /** Where the relay publishes. */
  broker: Broker;
  /** Backoff and lease times. Default: the system clock. Tests pass a fake one. */
  clock?: Clock;
  /** Jitter source in [0, 1). Default: `Math.random`. */
  random?: () => number;
  /** Publish failures and lease changes are logged here. Default: nothing is logged. */
  logger?: Logger;
  /**
   * Run around each publish, the first listed outermost, composed once (the host's: publish
   * metrics, then `producerSpans` of `@plexus/observability`). Through them the event goes out
   * with a `traceparent` naming the publish's own span, a child of the span that wrote it; a
   * rejection is a failed publish, retried after the subject's backoff. Default: none — the
   * stored event is published as it is, nothing is allocated per publish.
   */
  interceptors?: readonly PublishInterceptor[];
  /**
   * How often the relay looks for unsent rows without being woken. Default 1000 ms: the safety
   * net for rows whose wake-up was lost (a crash between commit and publish, a Postgres LISTEN
   * connection down); one cheap indexed query per second.
   */
  pollIntervalMs?: number;
  /** Rows read per poll. Default 100. */
  batchSize?: number;
  /**
   * Subjects published at once. Default 32: one subject's events go one at a time (that is
   * what keeps them in order), so a slow or failing subject must not hold up the others.
   */
  maxConcurrentSubjects?: number;
  /** Retry delays of a subject whose publish failed. Default 200 ms doubling to 30 s, full jitter. */
  backoff?: BackoffOptions;
  /**
   * How long a relay's claim to publish lasts without renewal. Default 15 000 ms: another replica
   * takes over that long after a holder crashed (a clean close releases it at once).
   */
  leaseTtlMs?: number;
  /** Lease name: relays sharing it (replicas of one service) elect one publisher. Default `default`. */
  relayName?: string;
  /**
   * How long `close()` keeps publishing what is unsent before giving up (the rows stay for the next
   * start). Default 5000 ms, within a typical orchestrator's termination grace period.
   */
  drainTimeoutMs?: number;
}

/** A service's transactional outbox and its relay. */
export interface Outbox extends AsyncDisposable {
  /**
   * Writes `event` in the caller's transaction `tx`, together with the state change it announces:
   * published after commit, never if the transaction rolls back. Idempotent per event id (a second
   * add of the same id is ignored; returns false). Validates the envelope (`InvalidArgument`).
   *
   * The commit of `tx` wakes the relay (`tx.notify`): in this process, and on Postgres, unless the
   * relay of this process holds the lease (the one that publishes), the relays of other processes
   * on the same database too.
   */
  add(tx: Sql, event: CloudEvent): Promise<boolean>;
  /**
   * `db.transaction(fn)`, once the outbox table exists (what `fn` adds wakes the relay at commit).
   *
   * @example
   * await outbox.transaction(async (tx) => {
   *   await tx.query("UPDATE orders SET status = 'CONFIRMED' WHERE id = $1", [id]);
   *   await outbox.add(tx, createEvent(OrderConfirmedSchema, { orderId: id }, { source: "/orders", subject: id }));
   * });
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Creates the messaging tables if needed and starts the relay. */
  start(): Promise<void>;
  /** Wakes the relay (rows were committed elsewhere). */
  nudge(): void;
  /** Unsent rows. */
  pending(): Promise<number>;
  /** Resolves once every row unsent at the call has been published; rejects when the signal aborts. */
  flush(signal?: AbortSignal): Promise<void>;
  /** Deletes sent rows older than `olderThanMs`. Returns how many. */
  prune(olderThanMs: number): Promise<number>;
  /**
   * Publishes what is unsent (up to `drainTimeoutMs`), waits for publishes in flight, stops the
   * relay and releases its lease. Unpublished rows stay for the next start. Idempotent.
   */
  close(): Promise<void>;
  /** Stops at once, as a crash would: publishes in flight are abandoned, the lease is kept. */
  destroy(): void;
}

/**
 * Creates the transactional outbox of a service (DESIGN.md "Outbox / Inbox"): events are written
 * in the same transaction as the state change (`plexus_outbox` in the service's schema) and
 * relayed to the broker after commit, in order per subject, at least once — a crash at any moment
 * loses nothing, because unsent rows are published again when a relay starts.
 *
 * @example
 * const outbox = createOutbox({ db, broker });
 * await outbox.start();
 * await outbox.transaction(async (tx) => { ...; await outbox.add(tx, event); });
 */
export function createOutbox(options: OutboxOptions): Outbox {
  const { db } = options;
  const relay = createOutboxRelay({
    db,
    broker: options.broker,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    logger: options.logger,
    interceptors: options.interceptors ?? [],
    pollIntervalMs: positive("pollIntervalMs", options.pollIntervalMs ?? 1000),
    batchSize: positive("batchSize", options.batchSize ?? 100),
    maxConcurrentSubjects: positive("maxConcurrentSubjects", options.maxConcurrentSubjects ?? 32),
    backoff: options.backoff,
    leaseTtlMs: positive("leaseTtlMs", options.leaseTtlMs ?? 15_000),
    relayName: options.relayName ?? "default",
    drainTimeoutMs: positive("drainTimeoutMs", options.drainTimeoutMs ?? 5000),
  });
  let started: Promise<void> | undefined;

  const outbox: Outbox = {
    async add(tx, event) {
      const parsed = parseCloudEvent(event);
      if (!parsed.ok) {
        throw new PlexusError(
          Code.InvalidArgument,
          `cannot add event to the outbox: ${parsed.reason}`,
        );
      }
      const valid = parsed.event;
      let inserted: boolean;
      try {
        const { rows } = await tx.query(
          `INSERT INTO plexus_outbox (event_id, ordering_key, event_type, event)
           VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (event_id) DO NOTHING RETURNING position`,
          // Events without a subject have no order to keep: each is its own sequence.
          [valid.id, valid.subject ?? `id:${valid.id}`, valid.type, JSON.stringify(valid)],
        );
        inserted = rows.length === 1;
      } catch (error) {
        if ((error as { code?: unknown }).code === "42P01") {
          throw new PlexusError(
            Code.FailedPrecondition,
            "the outbox table does not exist yet: start the outbox (or ensureMessagingTables) first",
            { cause: error },
          );
        }
        throw error;
      }
      // When this process's relay publishes, waking it is enough: other processes' relays stand
      // by, and on Postgres a NOTIFY would serialise this commit with every other writer's.
      if (inserted) tx.notify(outboxChannel, relay.leading ? localOnly : undefined);
      return inserted;
    },
    async transaction(fn) {
      await ensureMessagingTables(db);
      // What `fn` adds wakes the relay at the commit (`add` notifies the transaction).
      return db.transaction(fn);
    },
    start() {
      started ??= ensureMessagingTables(db).then(() => relay.start());
      return started;
    },
    nudge: () => relay.nudge(),
    async pending() {
      await ensureMessagingTables(db);
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::integer AS n FROM plexus_outbox WHERE sent_at IS NULL",
      );
      return rows[0]?.n ?? 0;
    },
    flush: (signal) => relay.flush(signal),
    async prune(olderThanMs) {
      await ensureMessagingTables(db);
      const { rowCount } = await db.query(
        `DELETE FROM plexus_outbox WHERE sent_at IS NOT NULL
           AND sent_at < now() - make_interval(secs => $1::double precision / 1000)`,
        [olderThanMs],
      );
      return rowCount;
    },
    async close() {
      await started?.catch(() => undefined);
      await relay.close();
    },
    destroy: () => relay.destroy(),
    [Symbol.asyncDispose]: () => outbox.close(),
  };
  return outbox;
}

const localOnly = { local: true } as const;

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a positive number (got ${value})`);
  }
  return value;
}
