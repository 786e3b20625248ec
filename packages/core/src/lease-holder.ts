import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./logger.ts";
import type { Db } from "./store.ts";

/**
 * Open lease holders of this process per owner id (an id may be given to several). Module state:
 * one copy of this package per process (ADR 10).
 */
const liveOwners = new Map<string, number>();

/** The statements of what a holder leases (one named row, many saga rows, …). */
export interface LeasedRows {
  /** Extends the leases `holder` holds to `holder.terms().until`; called by the heartbeat. */
  renew(holder: LeaseHolder): Promise<void>;
  /** Gives up every lease `holder` holds, so another may take them at once; called by `close`. */
  release(holder: LeaseHolder): Promise<void>;
}

export interface LeaseHolderOptions {
  /** Its `exclusive` flag decides whether a lease of an owner not alive here is takeable. */
  readonly db: Db;
  readonly clock: Clock;
  /** How long a lease lasts without renewal; the heartbeat renews every third of it. */
  readonly ttlMs: number;
  readonly leased: LeasedRows;
  readonly logger?: Logger | undefined;
  /** Default: `<hostname>:<pid>:<random>`, unique per holder. */
  readonly owner?: string | undefined;
}

/** What a statement taking or renewing leases binds, read from the clock once. */
export interface LeaseTerms {
  readonly owner: string;
  readonly now: number;
  /** When a lease taken or renewed now runs out. */
  readonly until: number;
  /**
   * The holders whose leases count until they run out. On an exclusive database: the other
   * holders alive in this process, so any other owner's lease is a dead process's. On a shared
   * one: null, the holders are unknown (`x <> ALL(NULL)` is never true).
   */
  readonly alive: readonly string[] | null;
}

/** Column names of a leased row and parameter placeholders of {@link LeaseTerms} in a statement. */
export interface TakeableLease {
  readonly ownerColumn: string;
  readonly untilColumn: string;
  /** e.g. `$4`, bound to `terms.now`. */
  readonly now: string;
  /** e.g. `$5`, bound to `terms.alive`. */
  readonly alive: string;
  /** e.g. `$2`, bound to `terms.owner`: the holder's own lease counts as takeable (a renewal). */
  readonly owner?: string;
}

/**
 * The SQL condition "this lease may be taken": nobody holds it, it ran out, its owner is not
 * among the live ones (see {@link LeaseTerms.alive}), or (with `owner`) it is already the holder's.
 * Put it in the claim statement itself, so taking a lease stays one atomic statement.
 */
export function takeableLease(sql: TakeableLease): string {
  const { ownerColumn: owner, untilColumn: until } = sql;
  const mine = sql.owner === undefined ? "" : ` OR ${owner} = ${sql.owner}`;
  return (
    `(${owner} IS NULL${mine} OR ${until} IS NULL OR ${until} < ${sql.now}` +
    ` OR ${owner} <> ALL(${sql.alive}::text[]))`
  );
}

/**
 * One owner of leases in the service's database: the single lease primitive of the outbox relay
 * (one named row) and the saga orchestrator (a lease per saga row). It owns the owner id and its
 * liveness in this process, the expiry arithmetic, the renewal heartbeat (every third of the TTL,
 * from `open` to `close`) and the release at close; the user's statements say what is leased,
 * taking leases with {@link takeableLease} and {@link terms}.
 */
export class LeaseHolder {
  readonly owner: string;
  readonly #options: LeaseHolderOptions;
  // TimerHandle is `unknown`: undefined means "none".
  #heartbeat: TimerHandle;
  #renewing = false;
  #open = false;
  /** The async context of `open`, which the heartbeat runs in. */
  #scope: <R>(fn: () => R) => R = (fn) => fn();
  #closing: Promise<void> | undefined;

  constructor(options: LeaseHolderOptions) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) {
      throw new RangeError(`lease TTL must be > 0, got ${options.ttlMs}`);
    }
    this.#options = options;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /**
   * From now on this owner's leases are a live holder's, and they are renewed every third of the
   * TTL, in the async context of this call. Once; later calls change nothing.
   */
  open(): void {
    if (this.#open || this.#closing) return;
    this.#open = true;
    this.#renewing = true;
    liveOwners.set(this.owner, (liveOwners.get(this.owner) ?? 0) + 1);
    this.#scope = AsyncLocalStorage.snapshot();
    this.#schedule();
  }

  /** The terms of a lease taken or renewed now. */
  terms(): LeaseTerms {
    const now = this.#options.clock.now();
    return { owner: this.owner, now, until: this.until(now), alive: this.alive() };
  }

  /** When a lease taken or renewed at `now` runs out. */
  until(now: number): number {
    return now + this.#options.ttlMs;
  }

  /** See {@link LeaseTerms.alive}. */
  alive(): readonly string[] | null {
    if (!this.#options.db.exclusive) return null;
    return [...liveOwners.keys()].filter((other) => other !== this.owner);
  }

  /** Closing: the renewal already scheduled is the last one. */
  stopRenewing(): void {
    this.#renewing = false;
  }

  /** Stops renewing, gives up every lease (`LeasedRows.release`), and no longer counts as alive. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop();
      if (!this.#open) return;
      try {
        await this.#options.leased.release(this);
      } catch (error) {
        this.#options.logger?.warn({ err: error, owner: this.owner }, "could not release leases");
      }
      this.#leave();
    })();
    return this.#closing;
  }

  /** A crash, as far as this process can tell: stops renewing and leaves the leases to run out. */
  drop(): void {
    this.#stop();
    this.#leave();
    this.#closing ??= Promise.resolve();
  }

  #schedule(): void {
    const { clock, ttlMs } = this.#options;
    this.#heartbeat = clock.setTimeout(
      () => this.#scope(() => void this.#renew()),
      Math.max(1, Math.floor(ttlMs / 3)),
    );
  }

  async #renew(): Promise<void> {
    try {
      await this.#options.leased.renew(this);
    } catch (error) {
      this.#options.logger?.warn({ err: error, owner: this.owner }, "could not renew leases");
    } finally {
      if (this.#renewing) this.#schedule();
    }
  }

  #stop(): void {
    this.#renewing = false;
    if (this.#heartbeat !== undefined) this.#options.clock.clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #leave(): void {
    if (!this.#open) return;
    this.#open = false;
    const count = liveOwners.get(this.owner) ?? 0;
    if (count > 1) liveOwners.set(this.owner, count - 1);
    else liveOwners.delete(this.owner);
  }
}
