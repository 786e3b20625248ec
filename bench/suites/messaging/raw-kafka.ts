/**
 * `raw-kafka`: the client library Plexus's adapter uses (@platformatic/kafka), directly. Each op
 * produces one 256-byte record (idempotent producer, acks=all, its own `send`, as a service
 * publishing at the moment of its state change would) and resolves once a consumer of a group
 * read it; the consumer commits the last offset of each partition after each fetched batch.
 */
import { randomUUID } from "node:crypto";
import {
  Admin,
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  ProduceAcks,
  stringSerializer,
  type Message,
  type MessagesStream,
} from "@platformatic/kafka";
import type { Candidate } from "../../harness.ts";
import { Arrivals } from "./arrivals.ts";
import {
  arrivalTimeoutMs,
  nextAggregate,
  partitions,
  payloadBytes,
  type KafkaTarget,
} from "./workload.ts";

type Record = Message<Buffer, Buffer, Buffer, Buffer>;

export function rawKafka(target: KafkaTarget): Candidate {
  const topic = `${target.topicPrefix}raw`;
  const arrivals = new Arrivals("raw-kafka", arrivalTimeoutMs);
  const clientId = "plexus-bench-raw";
  const producer = new Producer<string, Buffer, string, string>({
    clientId,
    bootstrapBrokers: target.brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    serializers: {
      key: stringSerializer,
      headerKey: stringSerializer,
      headerValue: stringSerializer,
    },
  });
  const consumer = new Consumer({
    clientId,
    bootstrapBrokers: target.brokers,
    groupId: `${topic}.readers`,
    autocommit: false,
  });
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  /** The records of the batch being read: the stream pushes a fetch's records in one go. */
  let batch: Record[] = [];

  function take(record: Record): void {
    if (batch.length === 0) setImmediate(endBatch);
    batch.push(record);
  }

  function endBatch(): void {
    const last = new Map<number, Record>();
    for (const record of batch) {
      arrivals.arrived(record.value.toString("latin1", 0, 36));
      last.set(record.partition, record);
    }
    batch = [];
    for (const record of last.values()) {
      void record.commit((error) => {
        if (error) console.error(`raw-kafka commit: ${String(error)}`);
      });
    }
  }

  async function produce(): Promise<void> {
    const id = randomUUID();
    const value = Buffer.alloc(payloadBytes, "x");
    value.write(id, 0, "latin1");
    const arrived = arrivals.expect(id);
    await producer.send({ messages: [{ topic, key: nextAggregate(), value }] });
    await arrived;
  }

  return {
    name: "raw-kafka",
    op: produce,
    async setup() {
      const admin = new Admin({ clientId, bootstrapBrokers: target.brokers });
      try {
        await admin.createTopics({ topics: [topic], partitions, replicas: -1 });
      } finally {
        await admin.close();
      }
      stream = await consumer.consume({
        topics: [topic],
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        autocommit: false,
      });
      stream.on("data", take);
      await produce(); // the group has joined and reads
    },
    async teardown() {
      arrivals.stop();
      try {
        arrivals.verify();
        console.log(`note: raw-kafka: ${arrivals.published} events, each consumed exactly once`);
      } finally {
        await stream?.close().catch(() => undefined);
        await consumer.close(true).catch(() => undefined);
        await producer.close(true).catch(() => undefined);
      }
    },
  };
}
