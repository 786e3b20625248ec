/** What a notification announces. */
export type NotificationType = "order.confirmed" | "order.cancelled";

export const notificationTypes: readonly NotificationType[] = [
  "order.confirmed",
  "order.cancelled",
];

/** One message to a user about one of their orders. */
export interface Notification {
  readonly id: string;
  readonly userId: string;
  readonly type: NotificationType;
  readonly orderId: string;
  /** RFC 3339, UTC, millisecond precision. */
  readonly createdAt: string;
}
