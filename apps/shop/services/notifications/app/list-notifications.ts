import type { FieldViolation } from "@plexus/core";
import { maxPageLimit, validatePageRequest } from "../../page-request.ts";
import type { NotificationPage, NotificationRepository } from "./notification-repository.ts";

export interface ListNotificationsInput {
  readonly userId: string;
  /** 1-based; 0 means the first page (callers from before paging send none). */
  readonly page: number;
  /** 1..100; 0 means the largest page (100). */
  readonly limit: number;
}

/**
 * One page of a user's notifications, newest first, with how many they have in all.
 *
 * @throws PlexusError `InvalidArgument` (`VALIDATION_ERROR`) without a user, with a negative page
 *   or with a limit out of 0..100.
 */
export async function listNotifications(
  notifications: NotificationRepository,
  input: ListNotificationsInput,
): Promise<NotificationPage> {
  const violations: FieldViolation[] =
    input.userId === "" ? [{ field: "user_id", message: "is required" }] : [];
  // Zero is proto3's "not set": it stands for the defaults, the rest is checked as everywhere.
  const { limit, offset } = validatePageRequest(
    {
      page: input.page === 0 ? 1 : input.page,
      limit: input.limit === 0 ? maxPageLimit : input.limit,
    },
    violations,
  );
  return notifications.listForUser(input.userId, limit, offset);
}
