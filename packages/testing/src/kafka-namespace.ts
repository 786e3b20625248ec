import { Admin } from "@platformatic/kafka";
import { serverUrl } from "./require-server.ts";

/**
 * Removes what a test run left on a Kafka cluster under its prefix (`topicPrefix` of the Kafka
 * adapter, `PLEXUS_KAFKA_TOPIC_PREFIX` of a host): its topics, and its consumer groups that are
 * empty by now (a group whose member was killed stays until its session expires; with its topics
 * gone it holds nothing and the cluster expires it). `brokers` default: the test cluster's
 * ({@link serverUrl}).
 */
export async function removeKafkaPrefix(
  prefix: string,
  brokers: readonly string[] = [new URL(serverUrl("kafka")).host],
): Promise<void> {
  if (prefix === "") throw new TypeError("an empty prefix would name every topic of the cluster");
  const admin = new Admin({ clientId: "plexus-test-cleanup", bootstrapBrokers: [...brokers] });
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = [...(await admin.listGroups()).values()]
      .filter((group) => group.id.startsWith(prefix) && group.state.toUpperCase() === "EMPTY")
      .map((group) => group.id);
    if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
  } finally {
    await admin.close();
  }
}
