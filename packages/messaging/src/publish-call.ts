import type { CloudEvent, Interceptor, TraceParent } from "@plexus/core";

/** One publish of an outbox row: the call of the publish boundary ({@link PublishInterceptor}). */
export interface PublishCall {
  /** The event as stored: its `traceparent` names the span that wrote it (its creation context). */
  readonly event: CloudEvent;
  /**
   * The span the event is published as: the envelope the broker gets is `event` with exactly
   * these ids as its `traceparent` (a child of the stored one), so consumers' spans hang under a
   * span recorded under them. A new child per publish: a row published twice (a crash before it
   * was marked sent) is two publishes.
   */
  readonly trace: TraceParent;
  /** The broker's `kind` (`memory`, `nats`, `rabbitmq`). */
  readonly broker: string;
  /**
   * Set when the publish is one of a batch (`Broker.publishBatch`): the innermost handler adds
   * the re-stamped event to the batch's one request and settles as that request does.
   */
  readonly batch?: PublishBatchSlot;
}

/** A publish's place in a batch's one broker request (see `PublishCall.batch`). */
export interface PublishBatchSlot {
  add(event: CloudEvent): Promise<void>;
}

/**
 * Runs around each publish of an outbox row (DESIGN.md convention 7; the host's PRODUCER span
 * and publish metrics): the innermost handler hands the broker `call.event` re-stamped with
 * `call.trace`. A rejection is the publish failing: the relay backs the row's subject off and
 * publishes it again later; a resolution marks the row sent.
 */
export type PublishInterceptor = Interceptor<PublishCall, void>;
