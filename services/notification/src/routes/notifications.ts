import { NotificationsApi, type NotificationView } from '@shopflow/contracts/api';
import { AppError } from '@shopflow/platform/errors';
import { customerScope, listLimit, requestPrincipal, type HttpServer } from '@shopflow/platform/http';
import { decodeCursor } from '@shopflow/platform/pagination';
import type { Notification } from '../domain/notification.js';
import type { Notifications } from '../notifications.js';

/** A notification as the HTTP API shows it. */
export function toNotificationView(n: Notification): NotificationView {
  return {
    id: n.id,
    order_id: n.orderId,
    customer_id: n.customerId,
    kind: n.kind,
    order_status: n.orderStatus,
    channel: n.channel,
    message: n.message,
    created_at: n.createdAt,
    // Why an attempt failed stays in the logs and the database: it may name internal servers.
    delivery: { status: n.delivery.status, attempts: n.delivery.attempts, sent_at: n.delivery.sentAt },
  };
}

/** The read API (routes declared in contracts): a customer's notifications and one by id. */
export function notificationRoutes(app: HttpServer, notifications: Notifications): void {
  for (const schema of NotificationsApi.schemas) app.addSchema(schema);
  const { list, get } = NotificationsApi.routes;

  app.route({
    ...list,
    async handler(request) {
      const { limit, cursor } = request.query;
      const customerId = customerScope(requestPrincipal(request), request.query.customer_id);
      if (customerId === undefined) throw AppError.invalid('customer_id', 'is required');
      const page = await notifications.listByCustomer(customerId, listLimit(limit), decodeCursor(cursor, 'string'));
      return { notifications: page.items.map(toNotificationView), next_cursor: page.nextCursor };
    },
  });

  app.route({
    ...get,
    handler: async (request) =>
      toNotificationView(await notifications.get(request.params.notification_id, requestPrincipal(request))),
  });
}
