import type { CloudEvent, TraceParent } from "@plexus/core";

/** One published (or failed) outbox row, for metrics. */
export interface RelayReport {
  readonly eventId: string;
  readonly eventType: string;
  /** Publish time minus the event's `time`: how long the event waited in the outbox. */
  readonly lagMs: number;
}

/** Metrics and log hooks of the relay. Hooks must not throw (a throwing hook is logged). */
export interface OutboxHooks {
  onPublished?(report: RelayReport): void;
  onPublishFailed?(
    report: RelayReport & { readonly error: unknown; readonly failures: number },
  ): void;
}

/** One publish of an outbox row, as {@link PublishWrapper} sees it. */
export interface PublishCall {
  /** The event as stored: its `traceparent` names the span that wrote it (its creation context). */
  readonly event: CloudEvent;
  /**
   * The span the event is published as: the envelope the broker gets names exactly these ids as
   * its `traceparent` (a child of the stored one), so consumers' spans hang under a span recorded
   * under them. A new child per publish: a row published twice (a crash before it was marked
   * sent) is two publishes.
   */
  readonly trace: TraceParent;
  /** The broker's `kind` (`memory`, `nats`, `rabbitmq`). */
  readonly broker: string;
}

/**
 * Runs around each publish of an outbox row (the host's PRODUCER span): `publish` hands the
 * broker the event re-stamped with `call.trace`. Must call `publish` once and settle as it does.
 */
export type PublishWrapper = (call: PublishCall, publish: () => Promise<void>) => Promise<void>;
