import { Stream, Subject } from '@shopflow/contracts';
import type { ServiceConfig } from '@shopflow/platform/config';
import type { Db } from '@shopflow/platform/db';
import { dataServiceChecks } from '@shopflow/platform/service';
import { createHttpServer, type HttpServer } from '@shopflow/platform/http';
import type { Logger } from '@shopflow/platform/logger';
import { EventConsumer, type Messaging } from '@shopflow/platform/messaging';
import type { NotificationSender } from './domain/ports.js';
import { createNotifications } from './notifications.js';
import { notificationRoutes } from './routes/notifications.js';

/**
 * The terminal order subjects and their durable consumers. One consumer per subject because
 * nats-server 2.9 allows a single filter subject per consumer.
 */
export const TERMINAL_CONSUMERS = [
  { subject: Subject.OrderCompleted, durable: 'notification-orders-completed' },
  { subject: Subject.OrderCancelled, durable: 'notification-orders-cancelled' },
  { subject: Subject.OrderFailed, durable: 'notification-orders-failed' },
] as const;

export interface NotificationAppDeps {
  config: Pick<ServiceConfig, 'ackWaitMs' | 'maxDeliver'>;
  logger: Logger;
  db: Db;
  messaging: Messaging;
  sender: NotificationSender;
}

export interface NotificationApp {
  http: HttpServer;
  /** Starts the three terminal-order consumers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Wires the notification service; exported for tests, which pass real NATS and a real database. */
export async function createNotificationApp({
  config,
  logger,
  db,
  messaging,
  sender,
}: NotificationAppDeps): Promise<NotificationApp> {
  const notifications = createNotifications({ db, logger, sender });
  const consumers = TERMINAL_CONSUMERS.map(
    ({ subject, durable }) =>
      new EventConsumer(
        { messaging, db, logger, ackWaitMs: config.ackWaitMs, maxDeliver: config.maxDeliver },
        { stream: Stream.Orders, subject, durable, handle: (tx, event) => notifications.record(tx, event) },
      ),
  );
  const http = await createHttpServer({
    service: 'notification',
    logger,
    checks: dataServiceChecks(db, messaging),
  });
  notificationRoutes(http, notifications);
  return {
    http,
    async start() {
      for (const consumer of consumers) await consumer.start();
    },
    async stop() {
      await http.close();
      for (const consumer of consumers) await consumer.stop();
    },
  };
}
