import type { Notification } from './notification.js';

/** Delivers a recorded notification to the customer on its channel. */
export interface NotificationSender {
  /** Called once per recorded notification, after its transaction committed. */
  send(notification: Notification): Promise<void>;
}
