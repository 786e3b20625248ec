import {
  invalidSetting,
  stringSetting,
  type Broker,
  type Clock,
  type Logger,
  type Settings,
} from "@plexus/core";
import { createMemoryBroker } from "@plexus/messaging";
import { createKafkaBroker } from "@plexus/messaging-kafka";

export interface OpenBrokerOptions {
  /** The host's settings: `KAFKA_BROKERS`, `PLEXUS_KAFKA_TOPIC_PREFIX`. */
  readonly config: Settings;
  /** Names the host's connections in the cluster (`plexus-<host>`). */
  readonly hostName: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

const hostPort = /^[^\s:,]+:\d{1,5}$/;
/** What Kafka allows in a topic name, leaving room for the stream name the prefix precedes. */
const topicPrefixPattern = /^[A-Za-z0-9._-]{0,100}$/;

/**
 * The host's broker, chosen by configuration, never by code: Kafka when `KAFKA_BROKERS` lists a
 * cluster (`host:port[,host:port…]`), else the in-process memory broker (the monolith's
 * default). A configured cluster that cannot be reached fails the start at once with how to start
 * one (a `StartupError`). `PLEXUS_KAFKA_TOPIC_PREFIX` keeps environments sharing a cluster apart.
 */
export async function openBroker(options: OpenBrokerOptions): Promise<Broker> {
  const { config, clock, logger } = options;
  const raw = stringSetting(config, "KAFKA_BROKERS", "");
  if (raw === "") return createMemoryBroker({ clock, logger });
  const brokers = raw.split(",").map((entry) => entry.trim());
  if (!brokers.every((entry) => hostPort.test(entry))) {
    throw invalidSetting("KAFKA_BROKERS", raw, "a comma-separated list of host:port");
  }
  const topicPrefix = stringSetting(config, "PLEXUS_KAFKA_TOPIC_PREFIX", "");
  if (!topicPrefixPattern.test(topicPrefix)) {
    throw invalidSetting(
      "PLEXUS_KAFKA_TOPIC_PREFIX",
      topicPrefix,
      "at most 100 of the characters a Kafka topic name allows: letters, digits, '.', '_' and '-'",
    );
  }
  return createKafkaBroker({
    brokers,
    clientId: `plexus-${options.hostName}`,
    topicPrefix,
    clock,
    logger,
  });
}
