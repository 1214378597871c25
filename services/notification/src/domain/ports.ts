import type { SendOutcome } from './delivery.js';
import type { Notification } from './notification.js';

/** Delivers a recorded notification to the customer on its channel. */
export interface NotificationSender {
  /**
   * Whether sending the same notification twice is harmless (the log line), so that an attempt
   * whose outcome was lost is simply made again; false for email.
   */
  readonly repeatable: boolean;
  /** Makes one attempt, after its claim was committed; a failure is an outcome, not a throw. */
  send(notification: Notification): Promise<SendOutcome>;
}
