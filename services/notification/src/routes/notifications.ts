import { NotificationsApi, type NotificationView } from '@shopflow/contracts/api';
import { listLimit, orNotFound, type HttpServer } from '@shopflow/platform/http';
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
  };
}

/** The read API (routes declared in contracts): a customer's notifications and one by id. */
export function notificationRoutes(app: HttpServer, notifications: Notifications): void {
  for (const schema of NotificationsApi.schemas) app.addSchema(schema);
  const { list, get } = NotificationsApi.routes;

  app.route({
    ...list,
    async handler(request) {
      const found = await notifications.listByCustomer(request.query.customer_id, listLimit(request.query.limit));
      return { notifications: found.map(toNotificationView) };
    },
  });

  app.route({
    ...get,
    handler: async (request) => {
      const id = request.params.notification_id;
      return toNotificationView(orNotFound(await notifications.get(id), 'notification', id));
    },
  });
}
