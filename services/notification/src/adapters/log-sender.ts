import type { Logger } from '@shopflow/platform/logger';
import type { NotificationSender } from '../domain/ports.js';

/** Simulated delivery, as in the seed: "sending" a notification is one info log line. */
export function createLogSender(logger: Logger): NotificationSender {
  return {
    send(n) {
      logger.info(
        { notification_id: n.id, order_id: n.orderId, customer_id: n.customerId, channel: n.channel, kind: n.kind },
        'notification sent',
      );
      return Promise.resolve();
    },
  };
}
