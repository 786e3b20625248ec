import { validationError, type FieldViolation } from "@plexus/core";
import { maxNotificationsLimit, type Notification } from "../domain/notification.ts";
import type { NotificationRepository } from "./notification-repository.ts";

export interface ListNotificationsInput {
  readonly userId: string;
  /** 1..100; 0 means the largest page (100). */
  readonly limit: number;
}

/**
 * A user's notifications, newest first.
 *
 * @throws PlexusError `InvalidArgument` (`VALIDATION_ERROR`) without a user or with a limit out
 *   of 0..100.
 */
export async function listNotifications(
  notifications: NotificationRepository,
  input: ListNotificationsInput,
): Promise<Notification[]> {
  const violations: FieldViolation[] = [];
  if (input.userId === "") violations.push({ field: "user_id", message: "is required" });
  if (!Number.isInteger(input.limit) || input.limit < 0 || input.limit > maxNotificationsLimit) {
    violations.push({ field: "limit", message: `must be 0..${maxNotificationsLimit}` });
  }
  if (violations.length > 0) throw validationError(violations);
  return notifications.listForUser(
    input.userId,
    input.limit === 0 ? maxNotificationsLimit : input.limit,
  );
}
