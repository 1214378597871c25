import type { Logger } from '@shopflow/platform/logger';
import type { NotificationSender } from '../domain/ports.js';

/** Simulated delivery, as in the seed (the default without `SMTP_URL`): "sending" is one info log line. */
export function createLogSender(logger: Logger): NotificationSender {
  return {
    repeatable: true,
    send(n) {
      logger.info(
        { notification_id: n.id, order_id: n.orderId, customer_id: n.customerId, channel: n.channel, kind: n.kind, via: 'log' },
        'notification sent',
      );
      return Promise.resolve({ kind: 'sent' });
    },
  };
}
