export { createKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from "./kafka-broker.ts";
export { streamOf, streamsOf, topicOf } from "./stream-topics.ts";
export { fromKafkaRecord, toKafkaRecord, type KafkaRecord } from "./cloud-event-binding.ts";
