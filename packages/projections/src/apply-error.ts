import type { CloudEvent } from "@plexus/core";

/** The log event an `apply` threw on. */
export interface FailedEvent {
  readonly id: string;
  readonly type: string;
  readonly position: number;
}

/**
 * An `apply` threw: names the projection and the event (id, type, log position) and carries the
 * apply's own error as `cause`. `index` is the event's place in its batch, so the runner can
 * commit the events before it (ADR 19, "Failing applies").
 */
export class ProjectionApplyError extends Error {
  override readonly name = "ProjectionApplyError";
  readonly projection: string;
  readonly event: FailedEvent;
  readonly index: number;

  constructor(
    projection: string,
    event: CloudEvent,
    position: number,
    index: number,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `projection "${projection}" cannot apply event ${event.id} (${event.type}) at position ${position}: ${reason}`,
      { cause },
    );
    this.projection = projection;
    this.event = { id: event.id, type: event.type, position };
    this.index = index;
  }
}
