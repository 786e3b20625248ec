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
export { resolveSubscription, type SubscriptionSettings } from "./subscription-settings.ts";
export { ensureMessagingTables } from "./messaging-tables.ts";
export {
  handleOnce,
  isProcessed,
  processOnce,
  pruneInbox,
  type HandleOnceResult,
} from "./inbox.ts";
export { createOutbox, type Outbox, type OutboxOptions } from "./outbox.ts";
export type { PublishCall, PublishInterceptor } from "./publish-call.ts";
export {
  createDeadLetterStore,
  type DeadLetter,
  type DeadLetterStore,
  type ListDeadLettersOptions,
} from "./dead-letter-store.ts";
export {
  createConsumerRuntime,
  type Consumer,
  type ConsumerRuntime,
  type ConsumerRuntimeOptions,
} from "./consumer-runtime.ts";
export type {
  DeadLetterListener,
  DeadLetterReport,
  DeliveryCall,
  DeliveryInterceptor,
  DeliveryOutcome,
} from "./consumer-delivery.ts";
export type { DeadLetterAdmin, ReplayResult } from "./dead-letter-admin.ts";
export {
  createMemoryBroker,
  type MemoryBroker,
  type MemoryBrokerOptions,
} from "./memory-broker.ts";
