import { randomUUID } from "node:crypto";
import { Code, PlexusError, type Clock, type Logger, type Sql } from "@plexus/core";
import type { NotificationType } from "../domain/notification.ts";
import type { NotificationRepository } from "./notification-repository.ts";
import { nowIso } from "../../now-iso.ts";

export interface RecordOrderOutcomeDeps {
  readonly notifications: NotificationRepository;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A settled order, as the orders service announced it. */
export interface OrderOutcome {
  readonly eventId: string;
  readonly type: NotificationType;
  readonly orderId: string;
  readonly userId: string;
}

/**
 * Records the notification of a settled order, in the inbox transaction `tx` of the event that
 * announced it. Returns whether a notification was made: false when the order already has one of
 * that type (the event was republished under another id — the inbox cannot see that, the unique
 * (order, type) index can).
 *
 * @throws PlexusError `InvalidArgument` when the event names no order or no user: retrying will
 *   not help, so the event ends in the dead-letter store where an operator can see it.
 */
export async function recordOrderOutcome(
  deps: RecordOrderOutcomeDeps,
  tx: Sql,
  outcome: OrderOutcome,
): Promise<boolean> {
  if (outcome.orderId === "" || outcome.userId === "") {
    throw new PlexusError(
      Code.InvalidArgument,
      `event ${outcome.eventId} (${outcome.type}) names no order or no user`,
    );
  }
  const created = await deps.notifications.insert(tx, {
    id: randomUUID(),
    userId: outcome.userId,
    type: outcome.type,
    orderId: outcome.orderId,
    createdAt: nowIso(deps.clock),
    eventId: outcome.eventId,
  });
  if (!created) {
    deps.logger.info(
      { orderId: outcome.orderId, type: outcome.type, eventId: outcome.eventId },
      "order already notified; duplicate announcement skipped",
    );
  }
  return created;
}
