import { SpanStatusCode, type Span } from "@opentelemetry/api";
import { codeToConnectName, PlexusError } from "@plexus/core";

/**
 * Marks `span` as failed by `error`: status ERROR with the error's message, and `error.type` set
 * to its Plexus code's Connect name (`unavailable`, `deadline_exceeded`), the one low-cardinality
 * error vocabulary every Plexus span shares.
 */
export function markFailed(span: Span, error: unknown): void {
  const failure = PlexusError.from(error);
  span.setAttribute("error.type", codeToConnectName(failure.code));
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
}
