import { Code, PlexusError, type Clock, type EventConsumer, type Logger } from "@plexus/core";
import type { ConsumerDelivery } from "./consumer-delivery.ts";
import type { DeadLetter, DeadLetterStore, ListDeadLettersOptions } from "./dead-letter-store.ts";

/** What a replay did. */
export interface ReplayResult {
  /** `processed`: the handler ran now; `duplicate`: the group had already processed it. */
  readonly outcome: "processed" | "duplicate";
}

/** The dead letters of a service's consumers, for operators. */
export interface DeadLetterAdmin {
  list(options?: ListDeadLettersOptions): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  count(group?: string): Promise<number>;
  /**
   * Delivers the parked event again, to its group's handler only (in this process, with the
   * inbox), and removes it from the store in the same transaction as the effect. On failure the
   * entry stays, with one more attempt and the new error, and the error is rethrown.
   * `NotFound` for an unknown id, `FailedPrecondition` for a malformed envelope or a group this
   * runtime does not run.
   */
  replay(id: string): Promise<ReplayResult>;
  /** Drops an entry without processing it. True when it existed. */
  discard(id: string): Promise<boolean>;
}

/** What the admin works with (the runtime's own store, consumers and delivery handling). */
export interface DeadLetterAdminOptions {
  readonly service: string;
  readonly store: DeadLetterStore;
  /** The runtime's consumers by group: a replay goes to its group's handler only. */
  readonly consumers: ReadonlyMap<string, EventConsumer>;
  readonly delivery: ConsumerDelivery;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
}

/** Creates the operators' view of a consumer runtime's dead letters. */
export function createDeadLetterAdmin(options: DeadLetterAdminOptions): DeadLetterAdmin {
  const { service, store, clock, logger } = options;
  return {
    list: (listOptions) => store.list(listOptions),
    get: (id) => store.get(id),
    count: (group) => store.count(group),
    discard: (id) => store.remove(id),
    async replay(id) {
      const letter = await store.get(id);
      if (!letter) throw new PlexusError(Code.NotFound, `no dead letter ${id}`);
      if (!letter.event) {
        throw new PlexusError(
          Code.FailedPrecondition,
          `dead letter ${id} holds a malformed envelope; it cannot be replayed`,
        );
      }
      const consumer = options.consumers.get(letter.group);
      if (!consumer) {
        throw new PlexusError(
          Code.FailedPrecondition,
          `dead letter ${id} belongs to group ${letter.group}, which ${service} does not run here`,
        );
      }
      const event = letter.event;
      try {
        // Handled as a delivery: its transaction also removes this entry (one per group and event).
        const outcome = await options.delivery.handle(consumer, event, {
          group: letter.group,
          attempt: letter.attempts + 1,
          maxDeliveries: letter.attempts + 1,
          signal: new AbortController().signal,
        });
        if (outcome === "duplicate") await store.remove(id);
        logger?.info({ group: letter.group, eventId: event.id }, "dead letter replayed");
        return { outcome };
      } catch (error) {
        await store.recordFailure(
          id,
          error instanceof Error ? error.message : String(error),
          clock.now(),
        );
        throw error;
      }
    },
  };
}
