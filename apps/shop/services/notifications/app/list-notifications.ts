import { maxPageLimit, pageWindow } from "../../page-request.ts";
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
 * The request met notifications.proto's rules (a user, page ≥ 0, limit 0..100) at the RPC
 * boundary.
 */
export async function listNotifications(
  notifications: NotificationRepository,
  input: ListNotificationsInput,
): Promise<NotificationPage> {
  // Zero is proto3's "not set": it stands for the defaults.
  const { limit, offset } = pageWindow({
    page: input.page === 0 ? 1 : input.page,
    limit: input.limit === 0 ? maxPageLimit : input.limit,
  });
  return notifications.listForUser(input.userId, limit, offset);
}
