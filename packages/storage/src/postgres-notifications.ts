import { randomUUID } from "node:crypto";
import type { Notification, Pool, PoolClient } from "pg";
import type { Logger } from "@plexus/core";
import { quoteIdent, quoteLiteral } from "./sql-names.ts";
import type { Wakeups } from "./wakeups.ts";

/** A lost listening connection is replaced at once; a failed replacement is retried this often. */
const reconnectRetryMs = 1000;

/** Postgres channels are database-wide: one per wake-up channel, for every service. */
const channelPrefix = "plexus_";

/**
 * Wake-ups across the processes of one Postgres database. A transaction that notified a channel
 * sends `NOTIFY plexus_<channel>, '<storage id> <schema>'` just before its COMMIT (in the same
 * round trip; Postgres delivers it only if the commit succeeds). Each storage that listens holds
 * one connection of its admin pool, LISTENing to every channel one of its services listens to,
 * and wakes that service's listeners — except for its own notifications, which woke them in-process
 * already. The connection is taken at the first `listen`, replaced (and re-LISTENed) when lost,
 * and closed with the storage.
 */
export class PostgresNotifications {
  readonly #id = randomUUID();
  readonly #admin: Pool;
  readonly #wakeups: Wakeups;
  readonly #logger: Logger | undefined;
  /** Listeners per Postgres channel, in this storage. */
  readonly #channels = new Map<string, number>();
  /** Channels LISTENed on the current connection. */
  readonly #listening = new Set<string>();
  #client: PoolClient | undefined;
  #connecting: Promise<PoolClient | undefined> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(admin: Pool, wakeups: Wakeups, logger: Logger | undefined) {
    this.#admin = admin;
    this.#wakeups = wakeups;
    this.#logger = logger;
  }

  /** `NOTIFY` statements for `channels` of `schema`, to send ahead of COMMIT. */
  notifyScript(schema: string, channels: Iterable<string>): string {
    const payload = quoteLiteral(this.#payload(schema));
    let script = "";
    for (const channel of channels) {
      script += `NOTIFY ${quoteIdent(channelPrefix + channel)}, ${payload}; `;
    }
    return script;
  }

  /** `pg_notify($1, $2)` arguments of a notification outside a transaction. */
  notifyParams(schema: string, channel: string): [string, string] {
    return [channelPrefix + channel, this.#payload(schema)];
  }

  /** Listens to `channel` for `schema` (see `Db.listen`). */
  async listen(schema: string, channel: string, wake: () => void): Promise<() => void> {
    const remove = this.#wakeups.add(schema, channel, wake);
    const name = channelPrefix + channel;
    this.#channels.set(name, (this.#channels.get(name) ?? 0) + 1);
    await this.#ensureListening(name);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      remove();
      const left = (this.#channels.get(name) ?? 1) - 1;
      if (left > 0) {
        this.#channels.set(name, left);
        return;
      }
      this.#channels.delete(name);
      if (this.#client && this.#listening.delete(name)) {
        this.#client.query(`UNLISTEN ${quoteIdent(name)}`).catch(() => undefined);
      }
    };
  }

  /** Releases the listening connection (its LISTENs end with it). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#connecting?.catch(() => undefined);
    this.#drop(undefined);
  }

  #payload(schema: string): string {
    return `${this.#id} ${schema}`;
  }

  async #ensureListening(name: string): Promise<void> {
    try {
      const client = this.#client ?? (await this.#connect());
      if (!client || this.#listening.has(name) || !this.#channels.has(name)) return;
      await client.query(`LISTEN ${quoteIdent(name)}`);
      this.#listening.add(name);
    } catch (error) {
      // Polling is the safety net meanwhile; the connection is replaced and re-LISTENed.
      this.#logger?.warn({ err: error, channel: name }, "Postgres LISTEN failed; retrying");
      this.#lost(this.#client);
    }
  }

  /** The listening connection, with every channel of this storage LISTENed. */
  #connect(): Promise<PoolClient | undefined> {
    this.#connecting ??= (async () => {
      try {
        const client = await this.#admin.connect();
        client.on("notification", this.#onNotification);
        client.on("error", (error) => {
          this.#logger?.warn({ err: error }, "Postgres LISTEN connection lost; reconnecting");
          this.#lost(client);
        });
        if (this.#closed) {
          client.release(true);
          return undefined;
        }
        this.#client = client;
        for (const name of this.#channels.keys()) {
          await client.query(`LISTEN ${quoteIdent(name)}`);
          this.#listening.add(name);
        }
        return client;
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  readonly #onNotification = (message: Notification): void => {
    const payload = message.payload ?? "";
    const space = payload.indexOf(" ");
    if (space < 0 || payload.slice(0, space) === this.#id) return;
    this.#wakeups.wake(payload.slice(space + 1), message.channel.slice(channelPrefix.length));
  };

  /** A connection (or the attempt to get one) failed: drop it and listen again on a new one. */
  #lost(client: PoolClient | undefined): void {
    if (client !== this.#client) return;
    this.#drop(new Error("LISTEN connection lost"));
    this.#reconnect();
  }

  #drop(error: Error | undefined): void {
    const client = this.#client;
    this.#client = undefined;
    this.#listening.clear();
    client?.release(error ?? true);
  }

  /** At once, then every `reconnectRetryMs` while it fails, as long as anyone listens. */
  #reconnect(): void {
    if (this.#closed || this.#channels.size === 0) return;
    if (this.#connecting !== undefined || this.#retry !== undefined) return;
    this.#connect().then(
      // Notifications sent while no connection listened are lost: every listener looks again.
      () => this.#wakeups.wakeAll(),
      (error: unknown) => {
        this.#drop(new Error("LISTEN connection failed"));
        if (this.#closed) return;
        this.#logger?.warn({ err: error }, "Postgres LISTEN reconnect failed; retrying");
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.#reconnect();
        }, reconnectRetryMs);
        this.#retry.unref();
      },
    );
  }
}
