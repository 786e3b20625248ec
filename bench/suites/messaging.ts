/**
 * `messaging`: events per second end to end (published → consumed), 256-byte payloads, over the
 * shared Kafka broker, in the same run:
 * - `raw-kafka` (baseline): the client library directly, producer acks=all (idempotent), a group
 *   consumer committing after each batch (`messaging/raw-kafka.ts`);
 * - `plexus-kafka`: through a service's outbox on Postgres, the outbox relay, the Kafka adapter
 *   and a consumer runtime with its inbox on Postgres (`messaging/plexus-kafka.ts`).
 *
 * An op is one event: written (produced), then awaited until consumed; `inFlight` ops run at
 * once, so ops/s is events/s and p50/p99 are end-to-end latencies. Every contender must consume
 * every event it published exactly once (checked per event, and for Plexus in its tables too),
 * or the run fails. Topics carry the run's own prefix and a fresh database is created for the
 * run; both are deleted after. Producer, relay and consumers run in this process.
 */
import { randomUUID } from "node:crypto";
import { createTestDatabase, requireServer, serverUrl } from "@plexus/testing";
import type { Candidate, Suite } from "../harness.ts";
import { plexusKafka } from "./messaging/plexus-kafka.ts";
import { rawKafka } from "./messaging/raw-kafka.ts";
import { deleteTopics, partitions, payloadBytes, type KafkaTarget } from "./messaging/workload.ts";

/** Events in flight at once, for every contender (as many writers as a busy service has). */
const inFlight = 128;
/** Each sample lasts at least this: many times an event's end-to-end latency under load. */
const sampleMs = 2_000;

export async function createSuite(): Promise<Suite> {
  if (!(await requireServer("kafka"))) {
    throw new Error("no Kafka broker: start one with scripts/kafka.sh, or set KAFKA_BROKERS");
  }
  const target: KafkaTarget = {
    brokers: [new URL(serverUrl("kafka")).host],
    topicPrefix: `plexus-bench-${randomUUID().slice(0, 8)}.`,
  };
  const database = await createTestDatabase({ prefix: "plexus_bench_messaging" });
  const raw = rawKafka(target);
  const plexus = plexusKafka({ ...target, databaseUrl: database.url });
  /** Every contender's teardown (which verifies it), then the clean-up, whatever failed. */
  const tearDownAll = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const candidate of [raw, plexus]) {
      await Promise.resolve(candidate.teardown?.()).catch((error: unknown) => failures.push(error));
    }
    await deleteTopics(target);
    await database.drop();
    if (failures.length > 0) throw failures[0];
  };
  /** A setup that fails tears everything down: the harness only tears down after the rounds. */
  const guarded = (candidate: Candidate, teardown: Candidate["teardown"]): Candidate => ({
    name: candidate.name,
    op: () => candidate.op(),
    async setup() {
      try {
        await candidate.setup?.();
      } catch (error) {
        await tearDownAll().catch(() => undefined);
        throw error;
      }
    },
    teardown,
  });
  return {
    name: "messaging",
    concurrency: inFlight,
    minSampleMs: sampleMs,
    baseline: guarded(raw, undefined),
    // The candidate's teardown runs last: it tears the baseline down too.
    candidates: [guarded(plexus, tearDownAll)],
    description: {
      measures: `events/s end to end (produced → consumed), ${inFlight} in flight, p50/p99 per event`,
      payload: `${payloadBytes} bytes, keyed by one of 1024 aggregates, ${partitions} partitions`,
      "raw-kafka":
        "@platformatic/kafka: a send per event (idempotent, acks=all); a group consumer committing after each batch",
      "plexus-kafka":
        "outbox on Postgres → relay → Kafka adapter → consumer runtime with its inbox on Postgres",
      checked:
        "every event consumed exactly once (per id; for plexus also its effect rows and inbox records)",
      processes:
        "producer, relay and consumers in the bench process; Kafka and Postgres on the same machine",
    },
  };
}
