import type { Clock, DeadLetterInput, TimerHandle } from "@plexus/core";
import type { RetrySchedule } from "@plexus/resilience";
import type { ParseCloudEventResult } from "./parse-cloud-event.ts";

/**
 * One published message on its way to every group its type routes to: `publish` settles once,
 * when the last group settled its copy (acked or dead-lettered), or at the first abort, close or
 * destroy.
 */
export interface Publication {
  /** The message as published (a malformed one is dead-lettered with it). */
  readonly payload: string;
  /** The payload read and validated once, for every group and every attempt (frozen). */
  readonly envelope: ParseCloudEventResult;
  pending: number;
  settled: boolean;
  readonly entries: Set<QueuedEvent>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** A publication's copy for one group, and its delivery state in that group. */
export interface QueuedEvent {
  readonly publication: Publication;
  /** The queue of its group (it waits there between deliveries). */
  readonly queue: QueuedEvent[];
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

/** Where a publication is made. */
export interface PublicationOptions {
  readonly payload: string;
  readonly envelope: ParseCloudEventResult;
  /** The queues of the groups it routes to: one copy is queued in each. */
  readonly queues: readonly QueuedEvent[][];
  readonly clock: Clock;
  readonly signal: AbortSignal | undefined;
  /** Called once it settled, whichever way. */
  readonly onSettled: (publication: Publication) => void;
}

/**
 * Queues a copy of the message in every queue; resolves once each copy is settled, rejects on
 * the signal's abort or `reject` (its copies are then forgotten).
 */
export function createPublication(options: PublicationOptions): {
  publication: Publication;
  done: Promise<void>;
} {
  const { signal, clock } = options;
  let publication!: Publication;
  const done = new Promise<void>((resolve, reject) => {
    /** Settles the publication once: false when it already was. */
    const finish = (): boolean => {
      if (publication.settled) return false;
      publication.settled = true;
      options.onSettled(publication);
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    publication = {
      payload: options.payload,
      envelope: options.envelope,
      pending: options.queues.length,
      settled: false,
      entries: new Set(),
      resolve: () => {
        if (finish()) resolve();
      },
      reject: (error) => {
        if (!finish()) return;
        for (const entry of publication.entries) forget(entry, clock);
        reject(asError(error));
      },
    };
    const onAbort = (): void => publication.reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  for (const queue of options.queues) {
    const entry: QueuedEvent = {
      publication,
      queue,
      attempts: 0,
      deadLetterFailures: 0,
      done: false,
    };
    publication.entries.add(entry);
    queue.push(entry);
  }
  return { publication, done };
}

/** Drops a copy that nobody waits for any more (its publication was abandoned). */
export function forget(entry: QueuedEvent, clock: Clock): void {
  if (entry.done) return;
  entry.done = true;
  if (entry.timer !== undefined) clock.clearTimeout(entry.timer);
  const index = entry.queue.indexOf(entry);
  if (index >= 0) entry.queue.splice(index, 1);
}

/** A group is done with its copy (acked or dead-lettered): the last one settles the publication. */
export function settle(entry: QueuedEvent): void {
  if (entry.done) return;
  entry.done = true;
  const publication = entry.publication;
  publication.entries.delete(entry);
  publication.pending -= 1;
  if (publication.pending === 0) publication.resolve();
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
