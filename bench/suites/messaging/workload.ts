/**
 * The `messaging` suite's workload, the same for every contender: events of 256-byte payloads,
 * keyed by one of `aggregates` aggregates (the record key / the event's subject), on a topic of
 * `partitions` partitions, produced with acks=all by an idempotent producer.
 */
import { Admin } from "@platformatic/kafka";

export const payloadBytes = 256;
export const aggregates = 1024;
export const partitions = 6;
/** An event missing this long after its publish fails the run. */
export const arrivalTimeoutMs = 30_000;

/** What a contender is given: where Kafka is and the run's own topic prefix. */
export interface KafkaTarget {
  readonly brokers: string[];
  /** Every topic of the run starts with it (deleted after). */
  readonly topicPrefix: string;
}

let sequence = 0;
/** The aggregate of the next event (round robin). */
export function nextAggregate(): string {
  sequence = (sequence + 1) % aggregates;
  return `acct-${sequence}`;
}

/** Deletes the run's topics (best effort: a leftover topic must not fail a finished run). */
export async function deleteTopics(target: KafkaTarget): Promise<void> {
  const admin = new Admin({ clientId: "plexus-bench", bootstrapBrokers: target.brokers });
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(target.topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch (error) {
    console.error(`note: could not delete the run's topics: ${String(error)}`);
  } finally {
    await admin.close().catch(() => undefined);
  }
}
