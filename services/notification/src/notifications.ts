import { DeliveryStatus } from '@shopflow/contracts';
import { inCurrentContext, traceHeaders } from '@shopflow/platform/tracing';
import { randomUUID } from 'node:crypto';
import type { OrderTerminalEvent } from '@shopflow/contracts';
import type { Principal } from '@shopflow/contracts/api';
import type { Db, Queryable } from '@shopflow/platform/db';
import { ownedOrNotFound } from '@shopflow/platform/http';
import type { Logger } from '@shopflow/platform/logger';
import { toPage, type PageCursor } from '@shopflow/platform/pagination';
import { notificationsRepository as repo } from './db/notifications-repository.js';
import { judgeRepeat, notificationFor, type Notification } from './domain/notification.js';
import type { NotificationSender } from './domain/ports.js';

export interface NotificationsDeps {
  db: Db;
  logger: Logger;
  /** Wakes the sender: a notification due for sending was committed. */
  wakeSender: () => void;
  /**
   * A sender whose repeats are harmless (the log line) is called right after the commit, with the
   * notification recorded as sent: it needs none of the claim and outcome writes that keep email
   * from going out twice, which cost a notification two more transactions.
   */
  sendAtOnce?: NotificationSender;
}

/** The notification service's use cases. */
export function createNotifications({ db, logger, wakeSender, sendAtOnce }: NotificationsDeps) {
  return {
    /**
     * Records the one notification a terminal order gets, due for sending, inside the consumer's
     * transaction; the sender picks it up once that commits. A later terminal event for the same
     * order changes nothing.
     */
    async record(tx: Queryable, event: OrderTerminalEvent): Promise<void> {
      const now = new Date().toISOString();
      const due = notificationFor(event, randomUUID(), now);
      const notification: Notification = {
        ...due,
        ...(sendAtOnce && { delivery: { status: DeliveryStatus.Sent, attempts: 1, dueAt: null, sentAt: now, lastError: null } }),
        traceparent: traceHeaders().traceparent ?? null,
      };
      if (await repo.insert(tx, notification)) {
        if (sendAtOnce) {
          // In the event's trace and with its order, as the sender loop would: the hook runs after the span ended.
          tx.afterCommit(
            inCurrentContext(() => {
              sendAtOnce.send(notification).catch((error: unknown) => logger.warn({ err: error }, 'notification not sent'));
            }),
          );
          return;
        }
        // After the commit, so that a rolled-back batch sends nothing; the row itself is what
        // gets sent, so a crash before the wake only delays it until the next start.
        tx.afterCommit(wakeSender);
        return;
      }
      const existing = await repo.findByOrder(tx, event.order_id);
      if (existing && judgeRepeat(existing, notification) === 'conflict') {
        logger.warn(
          { order_id: event.order_id, event_id: event.event_id, kept: existing.kind, ignored: notification.kind },
          'order already notified with a different outcome; keeping the first notification',
        );
      }
    },

    /** A notification the caller may see; someone else's is the same 404 as a missing one. */
    get: async (id: string, principal: Principal | undefined) =>
      ownedOrNotFound(await repo.find(db, id), principal, 'notification', id),

    /** A page of a customer's notifications, newest first. */
    async listByCustomer(customerId: string, limit: number, after: PageCursor<string> | undefined) {
      const rows = await repo.listByCustomer(db, customerId, limit + 1, after);
      return toPage(rows, limit, (n) => ({ key: n.createdAt, id: n.id }));
    },
  };
}
export type Notifications = ReturnType<typeof createNotifications>;
