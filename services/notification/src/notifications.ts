import { traceHeaders } from '@shopflow/platform/tracing';
import { randomUUID } from 'node:crypto';
import type { OrderTerminalEvent } from '@shopflow/contracts';
import type { Principal } from '@shopflow/contracts/api';
import type { Db, Queryable } from '@shopflow/platform/db';
import { ownedOrNotFound } from '@shopflow/platform/http';
import type { Logger } from '@shopflow/platform/logger';
import { toPage, type PageCursor } from '@shopflow/platform/pagination';
import { notificationsRepository as repo } from './db/notifications-repository.js';
import { judgeRepeat, notificationFor } from './domain/notification.js';

export interface NotificationsDeps {
  db: Db;
  logger: Logger;
  /** Wakes the sender: a notification due for sending was committed. */
  wakeSender: () => void;
}

/** The notification service's use cases. */
export function createNotifications({ db, logger, wakeSender }: NotificationsDeps) {
  return {
    /**
     * Records the one notification a terminal order gets, due for sending, inside the consumer's
     * transaction; the sender picks it up once that commits. A later terminal event for the same
     * order changes nothing.
     */
    async record(tx: Queryable, event: OrderTerminalEvent): Promise<void> {
      const notification = {
        ...notificationFor(event, randomUUID(), new Date().toISOString()),
        traceparent: traceHeaders().traceparent ?? null,
      };
      if (await repo.insert(tx, notification)) {
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
