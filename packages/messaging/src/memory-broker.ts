import { AsyncLocalStorage } from "node:async_hooks";
import {
  Code,
  PlexusError,
  retryAfterMsOf,
  systemClock,
  type Broker,
  type BrokerSubscription,
  type Clock,
  type CloudEvent,
  type DeadLetterInput,
  type Logger,
  type PublishOptions,
  type SubscriptionHandle,
  type TimerHandle,
} from "@plexus/core";
import { cappedAttempts, type RetrySchedule } from "@plexus/resilience";
import { createRedeliverySchedule, resolveBackoff, type ResolvedBackoff } from "./backoff.ts";
import { compileTypeFilter, type EventTypeFilter } from "./event-type-filter.ts";
import { parseCloudEvent } from "./parse-cloud-event.ts";

export interface MemoryBrokerOptions {
  /** Schedules redeliveries. Default: the system clock (unref'd timers). Tests pass a fake one. */
  clock?: Clock;
  /** Jitter source, uniform in [0, 1). Default: `Math.random`; tests pass a fixed one. */
  random?: () => number;
  /** Where handler failures and dead-letter failures are logged. Default: nothing is logged. */
  logger?: Logger;
}

/** The in-process broker, plus what only an in-process broker can offer (tests, chaos). */
export interface MemoryBroker extends Broker {
  /**
   * Publishes a raw payload routed as `type`, as a foreign or buggy producer would: each group's
   * member validates it on delivery (and dead-letters it when malformed). Resolves like `publish`.
   */
  publishRaw(type: string, payload: string | Uint8Array, options?: PublishOptions): Promise<void>;
  /**
   * Simulates a crash: every pending publish rejects, every queued delivery is forgotten, handlers
   * still running are abandoned (their outcome ignored, their `delivery.signal` aborted).
   */
  destroy(): void;
}

/** Defaults of a subscription's settings. */
const defaultMaxDeliveries = 5;
const defaultConcurrency = 4;
const groupPattern = /^[a-z0-9][a-z0-9._-]{0,127}$/;

interface Publication {
  pending: number;
  settled: boolean;
  readonly entries: Set<Entry>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Entry {
  readonly payload: string;
  readonly group: Group;
  readonly publication: Publication;
  /** Handler deliveries made so far. */
  attempts: number;
  /** Its redelivery decisions, from its first failure on (under that member's settings). */
  redelivery?: RetrySchedule;
  firstFailureAt?: number;
  lastFailureAt?: number;
  lastError?: string;
  /** Set once the handler is out of deliveries (or the envelope is bad): only dead-letter it. */
  deadLetter?: DeadLetterInput;
  /** Dead-letter attempts that failed (for their own backoff). */
  deadLetterFailures: number;
  timer?: TimerHandle;
  done: boolean;
}

interface Member {
  readonly group: Group;
  readonly subscription: BrokerSubscription;
  readonly maxDeliveries: number;
  readonly concurrency: number;
  readonly backoff: ResolvedBackoff;
  readonly inFlight: Set<Promise<void>>;
  readonly abort: AbortController;
  /** Runs a delivery in the context of `subscribe`, never in the publisher's (its transaction). */
  readonly scope: <R>(fn: () => R) => R;
  closed: boolean;
}

interface Group {
  readonly name: string;
  /** Filters of every member that ever joined: a group stays known (and queues) without members. */
  readonly filters: Map<string, EventTypeFilter>;
  readonly ready: Entry[];
  members: Member[];
  nextMember: number;
}

/**
 * Creates the in-process broker (adapter `memory`) for the services of one process.
 *
 * It holds messages in memory only, and is durable *through the outbox*: `publish` resolves only
 * once every group subscribed to the event's type has acked it or dead-lettered it (in the
 * consumer's database). The outbox relay marks its row sent only then, so a crash at any moment
 * leaves the row unsent, it is published again on restart, and the consumers' inboxes drop the
 * duplicates. See ADR-messaging.md.
 *
 * A group becomes known when its first member subscribes and stays known for the broker's life:
 * while it has no member, its messages wait (and `publish` waits with them). Subscribe every
 * consumer before starting the relays, so no group misses events published in between.
 *
 * @example
 * const broker = createMemoryBroker();
 * await broker.subscribe({ group: "notifications", types: ["shop.orders.v1.*"], handler, deadLetter });
 * await broker.publish(event);
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const logger = options.logger;
  const groups = new Map<string, Group>();
  const publications = new Set<Publication>();
  let closing: Promise<void> | undefined;
  let destroyed = false;

  function assertOpen(): void {
    if (closing || destroyed) throw new PlexusError(Code.Unavailable, "broker is closed");
  }

  function route(type: string, payload: string, signal: AbortSignal | undefined): Promise<void> {
    assertOpen();
    signal?.throwIfAborted();
    const targets = [...groups.values()].filter((g) =>
      [...g.filters.values()].some((f) => f(type)),
    );
    if (targets.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      /** Settles the publication once: false when it already was. */
      const finish = (): boolean => {
        if (publication.settled) return false;
        publication.settled = true;
        publications.delete(publication);
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const publication: Publication = {
        pending: targets.length,
        settled: false,
        entries: new Set(),
        resolve: () => {
          if (finish()) resolve();
        },
        reject: (error) => {
          if (!finish()) return;
          for (const entry of publication.entries) forget(entry);
          reject(asError(error));
        },
      };
      const onAbort = (): void => publication.reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      publications.add(publication);
      for (const group of targets) {
        const entry: Entry = {
          payload,
          group,
          publication,
          attempts: 0,
          deadLetterFailures: 0,
          done: false,
        };
        publication.entries.add(entry);
        group.ready.push(entry);
      }
      for (const group of targets) dispatch(group);
    });
  }

  /** Drops an entry that nobody waits for any more (its publication was abandoned). */
  function forget(entry: Entry): void {
    if (entry.done) return;
    entry.done = true;
    if (entry.timer !== undefined) clock.clearTimeout(entry.timer);
    const index = entry.group.ready.indexOf(entry);
    if (index >= 0) entry.group.ready.splice(index, 1);
  }

  function settle(entry: Entry): void {
    if (entry.done) return;
    entry.done = true;
    const publication = entry.publication;
    publication.entries.delete(entry);
    publication.pending -= 1;
    if (publication.pending === 0) publication.resolve();
  }

  function dispatch(group: Group): void {
    while (group.ready.length > 0) {
      const member = pickMember(group);
      if (!member) return;
      const entry = group.ready.shift() as Entry;
      if (entry.done) continue;
      const run = member.scope(() => deliver(member, entry));
      member.inFlight.add(run);
      void run.finally(() => {
        member.inFlight.delete(run);
        if (!destroyed) dispatch(group);
      });
    }
  }

  /** Round robin over the members with spare capacity: members of a group share the work. */
  function pickMember(group: Group): Member | undefined {
    const count = group.members.length;
    for (let i = 0; i < count; i++) {
      const member = group.members[(group.nextMember + i) % count] as Member;
      if (!member.closed && member.inFlight.size < member.concurrency) {
        group.nextMember = (group.nextMember + i + 1) % count;
        return member;
      }
    }
    return undefined;
  }

  async function deliver(member: Member, entry: Entry): Promise<void> {
    if (entry.deadLetter) {
      await tryDeadLetter(member, entry, entry.deadLetter);
      return;
    }
    const parsed = parseCloudEvent(entry.payload);
    if (!parsed.ok) {
      const now = clock.now();
      const letter: DeadLetterInput = {
        group: member.group.name,
        raw: entry.payload,
        reason: `malformed envelope: ${parsed.reason}`,
        attempts: 0,
        firstFailureAt: now,
        lastFailureAt: now,
      };
      await tryDeadLetter(member, entry, letter);
      return;
    }
    entry.attempts += 1;
    try {
      await member.subscription.handler(parsed.event, {
        group: member.group.name,
        attempt: entry.attempts,
        maxDeliveries: member.maxDeliveries,
        signal: member.abort.signal,
      });
    } catch (error) {
      if (destroyed || entry.done) return;
      const now = clock.now();
      entry.firstFailureAt ??= now;
      entry.lastFailureAt = now;
      entry.lastError = error instanceof Error ? error.message : String(error);
      entry.redelivery ??= createRedeliverySchedule(member.maxDeliveries, member.backoff, random);
      const decision = entry.redelivery.next(retryAfterMsOf(error));
      if (!decision.retry) {
        const letter: DeadLetterInput = {
          group: member.group.name,
          event: parsed.event,
          reason: entry.lastError,
          attempts: entry.attempts,
          firstFailureAt: entry.firstFailureAt,
          lastFailureAt: now,
        };
        await tryDeadLetter(member, entry, letter);
        return;
      }
      logger?.warn(
        {
          group: member.group.name,
          eventId: parsed.event.id,
          attempt: entry.attempts,
          delayMs: decision.delayMs,
          delaySource: decision.source,
          err: error,
        },
        "event handler failed; redelivering after backoff",
      );
      retryLater(entry, decision.delayMs);
      return;
    }
    if (!destroyed) settle(entry);
  }

  async function tryDeadLetter(
    member: Member,
    entry: Entry,
    letter: DeadLetterInput,
  ): Promise<void> {
    try {
      await member.subscription.deadLetter(letter);
    } catch (error) {
      if (destroyed || entry.done) return;
      // Never dropped: keep the message and try to park it again later.
      entry.deadLetter = letter;
      entry.deadLetterFailures += 1;
      logger?.error(
        { group: letter.group, eventId: letter.event?.id, err: error },
        "could not store a dead letter; retrying after backoff",
      );
      retryLater(entry, member.backoff.delay(entry.deadLetterFailures, 0, random));
      return;
    }
    if (!destroyed) settle(entry);
  }

  function retryLater(entry: Entry, delayMs: number): void {
    entry.timer = clock.setTimeout(() => {
      entry.timer = undefined;
      if (entry.done || destroyed) return;
      entry.group.ready.push(entry);
      dispatch(entry.group);
    }, delayMs);
  }

  async function subscribe(subscription: BrokerSubscription): Promise<SubscriptionHandle> {
    assertOpen();
    if (!groupPattern.test(subscription.group)) {
      throw new TypeError(`invalid consumer group name ${JSON.stringify(subscription.group)}`);
    }
    const filter = compileTypeFilter(subscription.types);
    const maxDeliveries = subscription.maxDeliveries ?? defaultMaxDeliveries;
    const concurrency = subscription.concurrency ?? defaultConcurrency;
    if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1) {
      throw new RangeError(`maxDeliveries must be an integer >= 1 (got ${maxDeliveries})`);
    }
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be an integer >= 1 (got ${concurrency})`);
    }
    let group = groups.get(subscription.group);
    if (!group) {
      group = {
        name: subscription.group,
        filters: new Map(),
        ready: [],
        members: [],
        nextMember: 0,
      };
      groups.set(group.name, group);
    }
    group.filters.set(JSON.stringify([...subscription.types].sort()), filter);
    const backoff = resolveBackoff(subscription.backoff);
    const member: Member = {
      group,
      subscription,
      // gRFC A6's backoff brings its cap of 5 attempts; handlers see the number in force.
      maxDeliveries: cappedAttempts(maxDeliveries, backoff.delay),
      concurrency,
      backoff,
      inFlight: new Set(),
      abort: new AbortController(),
      scope: AsyncLocalStorage.snapshot(),
      closed: false,
    };
    group.members.push(member);
    dispatch(group);

    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= (async () => {
        member.closed = true;
        const g = member.group;
        g.members = g.members.filter((m) => m !== member);
        g.nextMember = 0;
        await Promise.allSettled([...member.inFlight]);
      })();
      return closed;
    };
    return { close, [Symbol.asyncDispose]: close };
  }

  function memberCloses(): Promise<void>[] {
    const all: Promise<void>[] = [];
    for (const group of groups.values()) {
      for (const member of group.members) {
        member.closed = true;
        all.push(Promise.allSettled([...member.inFlight]).then(() => undefined));
      }
      group.members = [];
    }
    return all;
  }

  function rejectAll(message: string): void {
    const error = new PlexusError(Code.Unavailable, message);
    for (const publication of [...publications]) publication.reject(error);
    for (const group of groups.values()) group.ready.length = 0;
  }

  const close = (): Promise<void> => {
    if (destroyed) return Promise.resolve();
    closing ??= (async () => {
      await Promise.all(memberCloses());
      rejectAll("broker closed before every group processed the event");
    })();
    return closing;
  };

  return {
    kind: "memory",
    publish(event: CloudEvent, options: PublishOptions = {}): Promise<void> {
      const parsed = parseCloudEvent(event);
      if (!parsed.ok) {
        return Promise.reject(
          new PlexusError(Code.InvalidArgument, `cannot publish: ${parsed.reason}`),
        );
      }
      try {
        return route(parsed.event.type, JSON.stringify(parsed.event), options.signal);
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
    publishRaw(type, payload, options = {}) {
      const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");
      try {
        return route(type, text, options.signal);
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
    subscribe,
    close,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const group of groups.values()) {
        for (const member of group.members) {
          member.closed = true;
          member.abort.abort(new PlexusError(Code.Unavailable, "broker destroyed"));
        }
        for (const entry of group.ready) entry.done = true;
        group.members = [];
      }
      for (const publication of [...publications]) {
        for (const entry of publication.entries) forget(entry);
      }
      rejectAll("broker destroyed");
      groups.clear();
    },
    [Symbol.asyncDispose]: close,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
