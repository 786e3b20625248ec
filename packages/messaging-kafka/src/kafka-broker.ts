import {
  Code,
  PlexusError,
  StartupError,
  systemClock,
  type Broker,
  type BrokerSubscription,
  type Clock,
  type CloudEvent,
  type Logger,
  type PublishOptions,
  type SubscriptionHandle,
} from "@plexus/core";
import { parseCloudEvent, resolveSubscription } from "@plexus/messaging";
import {
  Admin,
  Producer,
  ProduceAcks,
  compatibilityPartitioner,
  stringSerializer,
} from "@platformatic/kafka";
import { toKafkaRecord } from "./cloud-event-binding.ts";
import { joinGroup, type Member } from "./kafka-member.ts";
import { createTopicRegistry } from "./kafka-topics.ts";
import { streamOf, streamsOf, topicOf } from "./stream-topics.ts";

export interface KafkaBrokerOptions {
  /** Bootstrap brokers, `host:port` each (what `KAFKA_BROKERS` lists, comma-separated). */
  brokers: readonly string[];
  /** Names this process's connections in the cluster's logs and quotas. Default: `plexus`. */
  clientId?: string;
  /**
   * Put before every stream's topic name (`<prefix>shop.orders.v1`) and every consumer group's
   * id (`<prefix>notifications.orders`), so environments or test runs sharing a cluster keep
   * apart: neither reads the other's records nor joins the other's groups. Default: none.
   */
  topicPrefix?: string;
  /**
   * Partitions of a topic the broker creates: the bound on a group's parallelism (one member
   * per partition). Default: 6, room for a few replicas of a consumer with some concurrency each.
   */
  partitions?: number;
  /**
   * Replicas of a topic the broker creates. Default: -1, the cluster's
   * `default.replication.factor` (1 on a single dev node; set 3 for a production cluster).
   */
  replicationFactor?: number;
  /**
   * How long the group waits for a member that stopped heartbeating before giving its
   * partitions to another (a crashed process's records wait that long). Default: 10 000 ms, above
   * the 6 s minimum a stock Kafka accepts.
   */
  sessionTimeoutMs?: number;
  /** Heartbeats to the group coordinator. Default: 1 000 ms, a tenth of the session. */
  heartbeatIntervalMs?: number;
  /** How long the first connection may take before the broker gives up. Default: 5 000 ms. */
  connectTimeoutMs?: number;
  /** Backoff waits. Default: the system clock. */
  clock?: Clock;
  /** Jitter source, uniform in [0, 1). Default: `Math.random`. */
  random?: () => number;
  /** Handler failures, dead-letter failures, rebalance trouble. Default: nothing is logged. */
  logger?: Logger;
}

/** The Kafka adapter, plus what tests need to play a crash. */
export interface KafkaBroker extends Broker {
  /**
   * As a crash: every member abandons its handlers and commits nothing more; the group hands
   * their partitions to the other members, which read them again from the committed offsets.
   */
  destroy(): void;
}

/**
 * Connects the Kafka adapter (`kind: "kafka"`): one topic per event stream (`shop.orders.v1`),
 * created on first use with explicit partitions and replication; the record key is the event's
 * subject (its aggregate), so an aggregate's events keep their order; an idempotent producer
 * with `acks=all`, a batch publish in one produce request; CloudEvents in binary mode (`ce_*` headers); one Kafka consumer group per
 * subscription group, each record committed only after its handler (and inbox row) committed.
 * See ADR 0015.
 *
 * Fails at once, with how to start a broker, when the cluster cannot be reached.
 *
 * @example
 * const broker = await createKafkaBroker({ brokers: ["127.0.0.1:9092"] });
 * await broker.subscribe({ group: "notifications", types: ["shop.orders.v1.*"], handler, deadLetter });
 * await broker.publish(event);
 */
export async function createKafkaBroker(options: KafkaBrokerOptions): Promise<KafkaBroker> {
  const brokers = [...options.brokers];
  const clientId = options.clientId ?? "plexus";
  const prefix = options.topicPrefix ?? "";
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const connection = { connectTimeout: options.connectTimeoutMs ?? 5_000 };
  const admin = new Admin({ clientId, bootstrapBrokers: brokers, ...connection });
  try {
    await admin.metadata({ topics: [], retries: 1 });
  } catch (error) {
    await admin.close().catch(() => undefined);
    throw new StartupError(
      `Kafka is not reachable at ${brokers.join(",")}`,
      "start a local broker with scripts/kafka.sh, or set KAFKA_BROKERS to a reachable cluster",
      { cause: error },
    );
  }
  const producer = new Producer<string, Buffer, string, string>({
    clientId,
    bootstrapBrokers: brokers,
    ...connection,
    idempotent: true,
    acks: ProduceAcks.ALL,
    // Java's partitioning: a key lands where other Kafka clients would put it.
    partitioner: compatibilityPartitioner,
    serializers: {
      key: stringSerializer,
      headerKey: stringSerializer,
      headerValue: stringSerializer,
    },
  });
  const topics = createTopicRegistry(admin, {
    partitions: options.partitions ?? 6,
    replicationFactor: options.replicationFactor ?? -1,
  });
  const members = new Set<Member>();
  const publishing = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;
  let destroyed = false;

  function assertOpen(): void {
    if (closing || destroyed) throw new PlexusError(Code.Unavailable, "broker is closed");
  }

  function topicOfType(type: string): string {
    try {
      return topicOf(prefix, streamOf(type));
    } catch (error) {
      throw new PlexusError(Code.InvalidArgument, `cannot publish: ${(error as Error).message}`);
    }
  }

  /** One produce request for every record (the client groups them per partition, in order). */
  async function send(events: readonly CloudEvent[], signal: AbortSignal | undefined) {
    const messages = events.map((event) => ({
      topic: topicOfType(event.type),
      ...toKafkaRecord(event),
    }));
    const missing = messages.filter((m) => !topics.has(m.topic)).map((m) => m.topic);
    if (missing.length > 0) await topics.ensure([...new Set(missing)]);
    signal?.throwIfAborted();
    await producer.send({ messages });
  }

  async function publishBatch(
    events: readonly CloudEvent[],
    publishOptions: PublishOptions = {},
  ): Promise<void> {
    assertOpen();
    const valid = events.map((event) => {
      const parsed = parseCloudEvent(event);
      if (!parsed.ok) {
        throw new PlexusError(Code.InvalidArgument, `cannot publish: ${parsed.reason}`);
      }
      return parsed.event;
    });
    if (valid.length === 0) return;
    const { signal } = publishOptions;
    const sending = send(valid, signal);
    const settled = sending.then(
      () => undefined,
      () => undefined,
    );
    publishing.add(settled);
    void settled.finally(() => publishing.delete(settled));
    try {
      // An abandoned send may still land: the outbox publishes the row again, the inbox dedupes.
      await abortable(sending, signal);
    } catch (error) {
      if (error instanceof PlexusError || (signal?.aborted && error === signal.reason)) throw error;
      throw new PlexusError(Code.Unavailable, `kafka publish failed: ${String(error)}`, {
        cause: error,
      });
    }
  }

  async function subscribe(subscription: BrokerSubscription): Promise<SubscriptionHandle> {
    assertOpen();
    const settings = resolveSubscription(subscription);
    const subscribed = streamsOf(subscription.types).map((stream) => topicOf(prefix, stream));
    await topics.ensure(subscribed);
    const member = await joinGroup({
      subscription,
      settings,
      groupId: `${prefix}${subscription.group}`,
      topics: subscribed,
      brokers,
      clientId,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000,
      clock,
      random: options.random ?? Math.random,
      logger,
    });
    members.add(member);
    const close = async (): Promise<void> => {
      await member.close();
      members.delete(member);
    };
    return { close, [Symbol.asyncDispose]: close };
  }

  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.all([...members].map((member) => member.close()));
      await Promise.all(publishing);
      await producer.close(true).catch(() => undefined);
      await admin.close().catch(() => undefined);
    })();
    return closing;
  };

  return {
    kind: "kafka",
    publish: (event, publishOptions) => publishBatch([event], publishOptions),
    publishBatch,
    subscribe,
    close,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const member of members) member.destroy();
      members.clear();
      void producer.close(true).catch(() => undefined);
      void admin.close().catch(() => undefined);
    },
    [Symbol.asyncDispose]: close,
  };
}

/** Rejects with the signal's reason as soon as it aborts, whether or not `work` settled. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    void work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
