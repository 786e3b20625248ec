import { AsyncLocalStorage } from "node:async_hooks";
import {
  Code,
  PlexusError,
  Semaphore,
  type BrokerSubscription,
  type Clock,
  type Logger,
} from "@plexus/core";
import type { SubscriptionSettings } from "@plexus/messaging";
import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  stringDeserializer,
  type Message,
  type MessagesStream,
} from "@platformatic/kafka";
import { deliverRecords, type RecordDeliveryOptions } from "./record-delivery.ts";

type KafkaMessage = Message<Buffer, Buffer, string, string>;
type KafkaConsumer = Consumer<Buffer, Buffer, string, string>;

/** How a member reaches the cluster and keeps its place in the group. */
export interface MemberOptions {
  readonly subscription: BrokerSubscription;
  readonly settings: SubscriptionSettings;
  /** The Kafka group: the subscription's, in the broker's topic prefix (see `KafkaBrokerOptions`). */
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger | undefined;
}

/** One group member: a Kafka consumer of the subscription's topics. */
export interface Member {
  /** Stops fetching, lets the handlers in flight finish and commit, then leaves the group. */
  close(): Promise<void>;
  /** As a crash: handlers are abandoned (their signal aborted), nothing more is committed. */
  destroy(): void;
}

/** A partition's records waiting for their turn, and the highest offset taken so far. */
interface PartitionQueue {
  readonly records: KafkaMessage[];
  seen: bigint;
  worker: Promise<void> | undefined;
  /** The records at the head that the worker is delivering. */
  inHand: number;
}

/**
 * Records a member may hold read but not yet handled, per unit of concurrency: enough to keep
 * the handlers busy across partitions, few enough to redeliver little after a crash.
 */
const bufferPerSlot = 32;
/**
 * Records of a partition delivered (and committed) together at most: one transaction of the
 * consumer runtime for their inbox records and effects, and one offset commit.
 */
const maxBatch = bufferPerSlot;
/** Wait before a failed fetch stream is opened again (the client has retried by then). */
const restartDelayMs = 1000;

/**
 * Joins the subscription's group: records are handled in order within a partition, the records
 * queued a batch at a time (`deliverRecords`), partitions concurrently (up to `concurrency`
 * handlers), and a batch's offset is committed only once its handlers (and so their inbox rows)
 * committed, or they were dead-lettered. A rebalance drops what
 * was read from a partition this member lost; the partition's next owner reads it again from the
 * committed offset, and the consumer's inbox absorbs what was handled twice.
 */
export async function joinGroup(options: MemberOptions): Promise<Member> {
  const { subscription, settings, logger } = options;
  const stop = new AbortController();
  const abort = new AbortController();
  const delivery: RecordDeliveryOptions = {
    subscription,
    settings,
    clock: options.clock,
    random: options.random,
    logger,
    stop: stop.signal,
    abort: abort.signal,
    slots: new Semaphore(settings.concurrency),
  };
  const scope = AsyncLocalStorage.snapshot();
  const partitions = new Map<string, PartitionQueue>();
  const maxBuffered = settings.concurrency * bufferPerSlot;
  let buffered = 0;
  let stream: MessagesStream<Buffer, Buffer, string, string> | undefined;
  let destroyed = false;
  /** Whether this member paused the stream (its buffer is full). */
  let paused = false;

  function take(message: KafkaMessage): void {
    const key = `${message.topic}:${message.partition}`;
    let queue = partitions.get(key);
    if (!queue) {
      queue = { records: [], seen: -1n, worker: undefined, inHand: 0 };
      partitions.set(key, queue);
    }
    // After a rebalance the stream reads a kept partition again from its committed offset.
    if (message.offset <= queue.seen) return;
    queue.seen = message.offset;
    queue.records.push(message);
    buffered += 1;
    if (buffered >= maxBuffered && !paused) {
      paused = true;
      stream?.pause();
    }
    queue.worker ??= scope(() => work(queue));
  }

  /** Delivers the partition's records a batch at a time (what is queued), committing after each. */
  async function work(queue: PartitionQueue): Promise<void> {
    try {
      while (queue.records.length > 0) {
        const batch = queue.records.slice(0, maxBatch);
        queue.inHand = batch.length;
        const done = await deliverRecords(delivery, batch);
        queue.inHand = 0;
        if (done === 0 || destroyed) return;
        // A rebalance may have dropped the partition's records meanwhile (not those in hand).
        if (queue.records[0] === batch[0]) {
          queue.records.splice(0, done);
          release(done);
        }
        await commit(batch[done - 1]!);
        if (done < batch.length) return;
      }
    } finally {
      queue.worker = undefined;
    }
  }

  function release(count: number): void {
    buffered -= count;
    if (paused && buffered < maxBuffered / 2 && !stop.signal.aborted) {
      paused = false;
      stream?.resume();
    }
  }

  async function commit(message: KafkaMessage): Promise<void> {
    try {
      await message.commit();
    } catch (error) {
      // The partition moved in a rebalance: its next owner handles the record again, and the
      // inbox absorbs the duplicate.
      logger?.warn(
        {
          group: subscription.group,
          topic: message.topic,
          partition: message.partition,
          err: error,
        },
        "could not commit a handled record; it will be redelivered",
      );
    }
  }

  /** Forgets what was read from partitions this member no longer owns. */
  function onJoin(payload: { assignments?: { topic: string; partitions: number[] }[] }): void {
    const owned = new Set(
      (payload.assignments ?? []).flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)),
    );
    for (const [key, queue] of partitions) {
      if (owned.has(key)) continue;
      // The records in a worker's hands finish; the rest belongs to the new owner.
      const kept = queue.records.slice(0, queue.inHand);
      release(queue.records.length - kept.length);
      queue.records.splice(0, queue.records.length, ...kept);
      queue.seen = -1n;
    }
  }
  /** The client of the current stream; a failed stream's is retired with it. */
  let consumer: KafkaConsumer | undefined;

  /** Leaves the group (when the cluster can be reached) and closes the client. */
  async function retire(client: KafkaConsumer): Promise<void> {
    client.off("consumer:group:join", onJoin);
    await client.close(true).catch((error: unknown) => {
      logger?.warn({ group: subscription.group, err: error }, "kafka consumer close failed");
    });
  }

  async function open(): Promise<void> {
    // A new client each time: one whose stream failed (the cluster unreachable beyond its
    // retries) and that consumes again does not get its group's records back.
    const client: KafkaConsumer = new Consumer({
      clientId: options.clientId,
      bootstrapBrokers: [...options.brokers],
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      rebalanceTimeout: options.sessionTimeoutMs,
      autocommit: false,
      deserializers: { headerKey: stringDeserializer, headerValue: stringDeserializer },
    });
    client.on("consumer:group:join", onJoin);
    consumer = client;
    const opened = await client
      .consume({
        topics: [...options.topics],
        mode: MessagesStreamModes.COMMITTED,
        // A new group reads its streams from their start: nothing published before its first
        // member joined is missed, and the inbox makes reading again harmless.
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        autocommit: false,
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: options.heartbeatIntervalMs,
        rebalanceTimeout: options.sessionTimeoutMs,
      })
      .catch(async (error: unknown) => {
        await retire(client);
        throw error;
      });
    if (stop.signal.aborted) {
      // Closed while joining: close() retired this client already.
      opened.destroy();
      return;
    }
    stream = opened;
    if (paused) opened.pause();
    opened.on("data", take);
    let failed = false;
    // `on`, not `once`: a destroyed stream may emit more than one error, and an unheard one
    // would crash the process.
    opened.on("error", (error: unknown) => {
      if (failed || stop.signal.aborted) return;
      failed = true;
      logger?.error(
        { group: subscription.group, err: error },
        "kafka fetch stream failed; opening it again",
      );
      void retire(client);
      options.clock.setTimeout(() => void reopen(), restartDelayMs);
    });
  }

  async function reopen(): Promise<void> {
    if (stop.signal.aborted) return;
    try {
      await open();
    } catch (error) {
      logger?.error({ group: subscription.group, err: error }, "could not reopen the kafka stream");
      options.clock.setTimeout(() => void reopen(), restartDelayMs);
    }
  }

  try {
    await open();
  } catch (error) {
    throw new PlexusError(
      Code.Unavailable,
      `could not join consumer group ${subscription.group}: ${(error as Error).message}`,
      { cause: error },
    );
  }

  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= (async () => {
        stop.abort();
        stream?.pause();
        await Promise.all([...partitions.values()].flatMap((q) => (q.worker ? [q.worker] : [])));
        if (consumer) await retire(consumer);
      })();
      return closed;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      stop.abort();
      abort.abort(new PlexusError(Code.Unavailable, "broker destroyed"));
      if (consumer) closed ??= retire(consumer);
    },
  };
}
