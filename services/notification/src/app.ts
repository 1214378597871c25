import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
import { DeliveryRunner } from './delivery-runner.js';
import type { NotificationSender } from './domain/ports.js';
import { createNotifications, type Notifications } from './notifications.js';
import { notificationRoutes } from './routes/notifications.js';
import type { DeliverySettings } from './settings.js';

/** The sender and delivery rules main wires from configuration; tests pass their own. */
export interface NotificationAdapters {
  sender: NotificationSender;
  delivery: DeliverySettings;
}

export interface NotificationApp extends ServiceApp {
  http: HttpServer;
  notifications: Notifications;
  deliveries: DeliveryRunner;
}

/** Wires the notification service's use cases, routes and sender loop; `service.ts` runs it. */
export async function createNotificationApp(
  { logger, db, checks, metrics }: Pick<ServiceContext, 'logger' | 'db' | 'checks' | 'metrics'>,
  { sender, delivery }: NotificationAdapters,
): Promise<NotificationApp> {
  const deliveries = new DeliveryRunner({ db, sender, logger, ...delivery });
  const notifications = createNotifications({
    db,
    logger,
    wakeSender: deliveries.notify,
    ...(sender.repeatable && { sendAtOnce: sender }),
  });
  const http = await createHttpServer({ service: 'notification', logger, checks, metrics });
  notificationRoutes(http, notifications);
  return {
    http,
    serves: httpListener(http),
    notifications,
    deliveries,
    // Started once the tables exist; it first sends what a previous run left due.
    start: () => Promise.resolve(deliveries.start()),
    // After the consumers stopped: what is in flight is recorded, the rest waits in the database.
    stop: () => deliveries.stop(),
  };
}
