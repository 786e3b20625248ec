import type { Admin } from "@platformatic/kafka";

/** How the broker creates the topic of a stream it has not seen yet. */
export interface TopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** Makes sure topics exist, creating the missing ones; remembers those it has seen. */
export interface TopicRegistry {
  /** Whether the topic is known to exist (no I/O): the publish fast path. */
  has(topic: string): boolean;
  ensure(topics: readonly string[]): Promise<void>;
}

/**
 * Creates topics explicitly, with the configured partitions and replication (the broker of
 * `scripts/kafka.sh` refuses to create them on first use), and tolerates another process
 * creating the same topic at the same moment.
 */
export function createTopicRegistry(admin: Admin, settings: TopicSettings): TopicRegistry {
  const known = new Set<string>();

  async function create(missing: string[]): Promise<void> {
    const existing = new Set(await admin.listTopics());
    const toCreate = missing.filter((topic) => !existing.has(topic));
    if (toCreate.length === 0) return;
    try {
      await admin.createTopics({
        topics: toCreate,
        partitions: settings.partitions,
        replicas: settings.replicationFactor,
      });
    } catch (error) {
      const now = new Set(await admin.listTopics());
      if (toCreate.some((topic) => !now.has(topic))) throw error;
    }
  }

  return {
    has: (topic) => known.has(topic),
    async ensure(topics) {
      const missing = topics.filter((topic) => !known.has(topic));
      if (missing.length === 0) return;
      await create(missing);
      for (const topic of missing) known.add(topic);
    },
  };
}
