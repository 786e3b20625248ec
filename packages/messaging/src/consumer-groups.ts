import { AsyncLocalStorage } from "node:async_hooks";
import type { BrokerSubscription } from "@plexus/core";
import type { ResolvedBackoff } from "./backoff.ts";
import type { EventTypeFilter } from "./event-type-filter.ts";
import type { QueuedEvent } from "./publication.ts";
import { resolveSubscription } from "./subscription-settings.ts";

/** One subscription: a member of its group, with its own settings and deliveries in flight. */
export interface Member {
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

/** A consumer group: its members share its queue, each message goes to one of them. */
export interface Group {
  readonly name: string;
  /** Filters of every member that ever joined: a group stays known (and queues) without members. */
  readonly filters: Map<string, EventTypeFilter>;
  readonly ready: QueuedEvent[];
  members: Member[];
  nextMember: number;
}

/**
 * The consumer groups of a memory broker: which groups a type routes to, members joining and
 * leaving, and which member takes the next message.
 */
export class ConsumerGroups {
  private readonly groups = new Map<string, Group>();

  /** Every group, for close and destroy. */
  all(): IterableIterator<Group> {
    return this.groups.values();
  }

  /** The groups a member of which subscribed to `type`. */
  routing(type: string): Group[] {
    return [...this.groups.values()].filter((g) => [...g.filters.values()].some((f) => f(type)));
  }

  /**
   * Validates a subscription and adds it as a member of its group (created at its first member).
   * Call in the subscriber's async context: its deliveries run in it.
   */
  join(subscription: BrokerSubscription): Member {
    const settings = resolveSubscription(subscription);
    let group = this.groups.get(subscription.group);
    if (!group) {
      group = {
        name: subscription.group,
        filters: new Map(),
        ready: [],
        members: [],
        nextMember: 0,
      };
      this.groups.set(group.name, group);
    }
    group.filters.set(JSON.stringify([...subscription.types].sort()), settings.filter);
    const member: Member = {
      group,
      subscription,
      maxDeliveries: settings.maxDeliveries,
      concurrency: settings.concurrency,
      backoff: settings.backoff,
      inFlight: new Set(),
      abort: new AbortController(),
      scope: AsyncLocalStorage.snapshot(),
      closed: false,
    };
    group.members.push(member);
    return member;
  }

  /** Takes a member out of its group; it finishes what it has in flight. */
  leave(member: Member): void {
    member.closed = true;
    const group = member.group;
    group.members = group.members.filter((m) => m !== member);
    group.nextMember = 0;
  }

  /** Forgets every group (the broker was destroyed). */
  clear(): void {
    this.groups.clear();
  }
}

/** Round robin over the members with spare capacity: members of a group share the work. */
export function pickMember(group: Group): Member | undefined {
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
