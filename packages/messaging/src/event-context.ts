import {
  childTraceparent,
  newCorrelationId,
  newRequestId,
  parseTraceparent,
  type CallContext,
  type CloudEvent,
  type TraceParent,
} from "@plexus/core";

/**
 * The context a consumer runs an event's handler in: the publisher's correlation id, a child
 * span of the event's `traceparent` (the handler's own span: its calls are its children), a new
 * request id, and the publisher (`source`) as caller. Run the
 * handler with `runInContext(contextFromEvent(event), ...)` so its logs, calls and the events it
 * publishes in turn carry the same correlation id and trace.
 */
export function contextFromEvent(event: CloudEvent): CallContext & { readonly trace: TraceParent } {
  const ctx: { -readonly [K in keyof CallContext]: CallContext[K] } & { trace: TraceParent } = {
    correlationId: event.correlationid ?? newCorrelationId(),
    requestId: newRequestId(),
    trace: childTraceparent(parseTraceparent(event.traceparent)),
  };
  const caller = /^\/([a-z][a-z0-9_]{0,62})$/.exec(event.source)?.[1];
  if (caller !== undefined) ctx.caller = caller;
  return ctx;
}
