import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
import type { NotificationSender } from './domain/ports.js';
import { createNotifications, type Notifications } from './notifications.js';
import { notificationRoutes } from './routes/notifications.js';

/** The adapters main wires to the real world; tests pass their own. */
export interface NotificationAdapters {
  sender: NotificationSender;
}

export interface NotificationApp extends ServiceApp {
  http: HttpServer;
  notifications: Notifications;
}

/** Wires the notification service's use cases and routes; `service.ts` runs it. */
export async function createNotificationApp(
  { logger, db, checks, metrics }: Pick<ServiceContext, 'logger' | 'db' | 'checks' | 'metrics'>,
  { sender }: NotificationAdapters,
): Promise<NotificationApp> {
  const notifications = createNotifications({ db, logger, sender });
  const http = await createHttpServer({ service: 'notification', logger, checks, metrics });
  notificationRoutes(http, notifications);
  return { http, serves: httpListener(http), notifications };
}
