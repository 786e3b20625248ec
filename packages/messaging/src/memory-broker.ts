import {
  Code,
  PlexusError,
  systemClock,
  type Broker,
  type BrokerSubscription,
  type Clock,
  type CloudEvent,
  type Logger,
  type PublishOptions,
  type SubscriptionHandle,
} from "@plexus/core";
import { ConsumerGroups } from "./consumer-groups.ts";
import { createGroupDispatcher } from "./group-dispatcher.ts";
import { parseCloudEvent, type ParseCloudEventResult } from "./parse-cloud-event.ts";
import { asError, createPublication, forget, type Publication } from "./publication.ts";

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

/**
 * Creates the in-process broker (adapter `memory`) for the services of one process.
 *
 * It holds messages in memory only, and is durable *through the outbox*: `publish` resolves only
 * once every group subscribed to the event's type has acked it or dead-lettered it (in the
 * consumer's database). The outbox relay marks its row sent only then, so a crash at any moment
 * leaves the row unsent, it is published again on restart, and the consumers' inboxes drop the
 * duplicates. See ADR-messaging.md.
 *
 * A message is read and validated once, however many groups and deliveries it has: every group
 * and every attempt get the same event, frozen (a handler reads an event; it never changes it).
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
  const groups = new ConsumerGroups();
  const publications = new Set<Publication>();
  let closing: Promise<void> | undefined;
  let destroyed = false;
  const dispatcher = createGroupDispatcher({
    clock,
    random: options.random ?? Math.random,
    logger: options.logger,
    destroyed: () => destroyed,
  });

  function assertOpen(): void {
    if (closing || destroyed) throw new PlexusError(Code.Unavailable, "broker is closed");
  }

  function route(type: string, payload: string, signal: AbortSignal | undefined): Promise<void> {
    assertOpen();
    signal?.throwIfAborted();
    const targets = groups.routing(type);
    if (targets.length === 0) return Promise.resolve();
    const { publication, done } = createPublication({
      payload,
      envelope: frozen(parseCloudEvent(payload)),
      queues: targets.map((group) => group.ready),
      clock,
      signal,
      onSettled: (settled) => publications.delete(settled),
    });
    publications.add(publication);
    for (const group of targets) dispatcher.dispatch(group);
    return done;
  }

  async function subscribe(subscription: BrokerSubscription): Promise<SubscriptionHandle> {
    assertOpen();
    const member = groups.join(subscription);
    dispatcher.dispatch(member.group);

    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= (async () => {
        groups.leave(member);
        await Promise.allSettled([...member.inFlight]);
      })();
      return closed;
    };
    return { close, [Symbol.asyncDispose]: close };
  }

  function memberCloses(): Promise<void>[] {
    const all: Promise<void>[] = [];
    for (const group of groups.all()) {
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
    for (const group of groups.all()) group.ready.length = 0;
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
      for (const group of groups.all()) {
        for (const member of group.members) {
          member.closed = true;
          member.abort.abort(new PlexusError(Code.Unavailable, "broker destroyed"));
        }
        for (const entry of group.ready) entry.done = true;
        group.members = [];
      }
      for (const publication of [...publications]) {
        for (const entry of publication.entries) forget(entry, clock);
      }
      rejectAll("broker destroyed");
      groups.clear();
    },
    [Symbol.asyncDispose]: close,
  };
}

/** Freezes a read event through and through: every group and attempt share it. */
function frozen(envelope: ParseCloudEventResult): ParseCloudEventResult {
  if (envelope.ok) deepFreeze(envelope.event);
  return envelope;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
}
