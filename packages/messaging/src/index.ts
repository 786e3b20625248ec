export {
  parseCloudEvent,
  type ParseCloudEventOptions,
  type ParseCloudEventResult,
} from "./parse-cloud-event.ts";
export {
  createEvent,
  dataschemaOf,
  decodeEventData,
  eventTypeOf,
  type EventAttributes,
} from "./create-event.ts";
export { contextFromEvent } from "./event-context.ts";
export { compileTypeFilter, type EventTypeFilter } from "./event-type-filter.ts";
export {
  createRedeliverySchedule,
  defaultBackoff,
  resolveBackoff,
  type ResolvedBackoff,
} from "./backoff.ts";
export { ensureMessagingTables } from "./messaging-tables.ts";
export {
  handleOnce,
  isProcessed,
  processOnce,
  pruneInbox,
  type HandleOnceResult,
} from "./inbox.ts";
export { createOutbox, type Outbox, type OutboxOptions } from "./outbox.ts";
export type { OutboxHooks, PublishCall, PublishWrapper, RelayReport } from "./outbox-relay.ts";
export {
  createDeadLetterStore,
  type DeadLetter,
  type DeadLetterStore,
  type ListDeadLettersOptions,
} from "./dead-letter-store.ts";
export {
  createConsumerRuntime,
  type Consumer,
  type ConsumerHooks,
  type ConsumerRuntime,
  type ConsumerRuntimeOptions,
  type DeadLetterAdmin,
  type DeadLetterReport,
  type DeliveryCall,
  type DeliveryOutcome,
  type DeliveryReport,
  type DeliveryWrapper,
  type ReplayResult,
} from "./consumer-runtime.ts";
export {
  createMemoryBroker,
  type MemoryBroker,
  type MemoryBrokerOptions,
} from "./memory-broker.ts";
