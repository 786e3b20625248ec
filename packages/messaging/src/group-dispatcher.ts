import { retryAfterMsOf, type Clock, type DeadLetterInput, type Logger } from "@plexus/core";
import { createRedeliverySchedule } from "./backoff.ts";
import { pickMember, type Group, type Member } from "./consumer-groups.ts";
import { settle, type QueuedEvent } from "./publication.ts";

export interface GroupDispatcherOptions {
  readonly clock: Clock;
  /** Jitter source, uniform in [0, 1). */
  readonly random: () => number;
  readonly logger: Logger | undefined;
  /** Whether the broker was destroyed: outcomes of abandoned deliveries are then ignored. */
  readonly destroyed: () => boolean;
}

/** Hands a group's queued messages to its members, and schedules redeliveries and dead letters. */
export interface GroupDispatcher {
  /** Starts a delivery for each queued message a member has capacity for. */
  dispatch(group: Group): void;
}

/**
 * Creates the delivery loop of a memory broker: a message goes to one member of its group at a
 * time; a handler failure redelivers it after the member's backoff (or the failure's pushback),
 * until its deliveries are out and it is dead-lettered; a failed dead-lettering is retried after
 * backoff too, so a message is never dropped.
 */
export function createGroupDispatcher(options: GroupDispatcherOptions): GroupDispatcher {
  const { clock, random, logger, destroyed } = options;

  function dispatch(group: Group): void {
    while (group.ready.length > 0) {
      const member = pickMember(group);
      if (!member) return;
      const entry = group.ready.shift() as QueuedEvent;
      if (entry.done) continue;
      const run = member.scope(() => deliver(member, entry));
      member.inFlight.add(run);
      void run.finally(() => {
        member.inFlight.delete(run);
        if (!destroyed()) dispatch(group);
      });
    }
  }

  async function deliver(member: Member, entry: QueuedEvent): Promise<void> {
    if (entry.deadLetter) {
      await tryDeadLetter(member, entry, entry.deadLetter);
      return;
    }
    const { envelope, payload } = entry.publication;
    if (!envelope.ok) {
      const now = clock.now();
      const letter: DeadLetterInput = {
        group: member.group.name,
        raw: payload,
        reason: `malformed envelope: ${envelope.reason}`,
        attempts: 0,
        firstFailureAt: now,
        lastFailureAt: now,
      };
      await tryDeadLetter(member, entry, letter);
      return;
    }
    const event = envelope.event;
    entry.attempts += 1;
    try {
      await member.subscription.handler(event, {
        group: member.group.name,
        attempt: entry.attempts,
        maxDeliveries: member.maxDeliveries,
        signal: member.abort.signal,
      });
    } catch (error) {
      if (destroyed() || entry.done) return;
      const now = clock.now();
      entry.firstFailureAt ??= now;
      entry.lastFailureAt = now;
      entry.lastError = error instanceof Error ? error.message : String(error);
      entry.redelivery ??= createRedeliverySchedule(member.maxDeliveries, member.backoff, random);
      const decision = entry.redelivery.next(retryAfterMsOf(error));
      if (!decision.retry) {
        const letter: DeadLetterInput = {
          group: member.group.name,
          event,
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
          eventId: event.id,
          attempt: entry.attempts,
          delayMs: decision.delayMs,
          delaySource: decision.source,
          err: error,
        },
        "event handler failed; redelivering after backoff",
      );
      retryLater(member.group, entry, decision.delayMs);
      return;
    }
    if (!destroyed()) settle(entry);
  }

  async function tryDeadLetter(
    member: Member,
    entry: QueuedEvent,
    letter: DeadLetterInput,
  ): Promise<void> {
    try {
      await member.subscription.deadLetter(letter);
    } catch (error) {
      if (destroyed() || entry.done) return;
      // Never dropped: keep the message and try to park it again later.
      entry.deadLetter = letter;
      entry.deadLetterFailures += 1;
      logger?.error(
        { group: letter.group, eventId: letter.event?.id, err: error },
        "could not store a dead letter; retrying after backoff",
      );
      retryLater(member.group, entry, member.backoff.delay(entry.deadLetterFailures, 0, random));
      return;
    }
    if (!destroyed()) settle(entry);
  }

  function retryLater(group: Group, entry: QueuedEvent, delayMs: number): void {
    entry.timer = clock.setTimeout(() => {
      entry.timer = undefined;
      if (entry.done || destroyed()) return;
      group.ready.push(entry);
      dispatch(group);
    }, delayMs);
  }

  return { dispatch };
}
