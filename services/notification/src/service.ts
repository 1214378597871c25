import { Subject } from '@shopflow/contracts';
import { defineService } from '@shopflow/platform/service';
import { createLogSender } from './adapters/log-sender.js';
import { createSmtpSender } from './adapters/smtp-sender.js';
import { createNotificationApp } from './app.js';
import { migrations } from './db/migrations.js';
import type { NotificationSender } from './domain/ports.js';
import { loadNotificationSettings, redactUrl } from './settings.js';

/** The notification service, reading its settings from `env` when it starts; tests pass their own. */
export function createNotificationService(env: Record<string, string | undefined> = process.env) {
  return defineService({
    name: 'notification',
    migrations,
    build(ctx) {
      // Read once here, so that a bad value stops start-up.
      const settings = loadNotificationSettings(env);
      let sender: NotificationSender;
      if (settings.email) {
        const smtp = createSmtpSender(settings.email, ctx.logger);
        // Closed after the sender loop has stopped and recorded what it had in flight.
        ctx.defer('smtp', () => smtp.close());
        sender = smtp;
        ctx.logger.info({ smtp: redactUrl(settings.email.smtpUrl), from: settings.email.from }, 'notifications go out by email');
      } else {
        sender = createLogSender(ctx.logger);
      }
      return createNotificationApp(ctx, { sender, delivery: settings.delivery });
    },
    consumes: {
      [Subject.OrderCompleted]: (app, tx, event) => app.notifications.record(tx, event),
      [Subject.OrderCancelled]: (app, tx, event) => app.notifications.record(tx, event),
      [Subject.OrderFailed]: (app, tx, event) => app.notifications.record(tx, event),
    },
  });
}

/** The notification service: one notification per order that ended, sent once. */
export const notificationService = createNotificationService();
