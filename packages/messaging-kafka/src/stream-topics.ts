/**
 * Event streams and their Kafka topics.
 *
 * An event's stream is its type without the last segment: `shop.orders.v1.OrderPlaced` belongs to
 * `shop.orders.v1`. One topic per stream (not per type) keeps every event of an aggregate in one
 * partition, so an order's `OrderPlaced` is read before its `OrderConfirmed`.
 */
const topicChars = /^[A-Za-z0-9._-]+$/;
/** Kafka's limit on a topic name. */
const maxTopicLength = 249;

/** The stream of an event type, or why it has none that Kafka can name. */
export function streamOf(type: string): string {
  const dot = type.lastIndexOf(".");
  const stream = dot > 0 ? type.slice(0, dot) : "";
  if (stream === "" || !topicChars.test(stream)) {
    throw new TypeError(
      `event type ${JSON.stringify(type)} names no Kafka stream: it needs a dotted namespace ` +
        "of letters, digits, '.', '_' and '-' before its last segment",
    );
  }
  return stream;
}

/** The topic of a stream, under a prefix (test runs and tenants keep their topics apart). */
export function topicOf(prefix: string, stream: string): string {
  const topic = `${prefix}${stream}`;
  if (topic.length > maxTopicLength || !topicChars.test(topic)) {
    throw new TypeError(`${JSON.stringify(topic)} is not a valid Kafka topic name`);
  }
  return topic;
}

/**
 * The streams a subscription's type patterns read: an exact type reads its stream (and the
 * consumer skips the stream's other types); `<stream>.*` reads the stream. Kafka has no topic
 * for "every type" or a partial namespace (`*`, `shop.*`): those patterns are refused rather than
 * silently reading only the topics that happen to exist at subscribe time.
 */
export function streamsOf(patterns: readonly string[]): string[] {
  const streams = new Set<string>();
  for (const pattern of patterns) {
    if (pattern.endsWith(".*")) {
      streams.add(streamOf(`${pattern.slice(0, -2)}.x`));
    } else if (pattern.endsWith("*")) {
      throw new TypeError(
        `the Kafka broker cannot subscribe to ${JSON.stringify(pattern)}: name event types ` +
          "or whole streams (`<stream>.*`), each stream being one topic",
      );
    } else {
      streams.add(streamOf(pattern));
    }
  }
  return [...streams];
}
