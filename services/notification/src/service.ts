import { Subject } from '@shopflow/contracts';
import { defineService } from '@shopflow/platform/service';
import { createLogSender } from './adapters/log-sender.js';
import { createNotificationApp } from './app.js';
import { migrations } from './db/migrations.js';

/** The notification service: one notification per order that ended. */
export const notificationService = defineService({
  name: 'notification',
  migrations,
  build: (ctx) => createNotificationApp(ctx, { sender: createLogSender(ctx.logger) }),
  consumes: {
    [Subject.OrderCompleted]: (app, tx, event) => app.notifications.record(tx, event),
    [Subject.OrderCancelled]: (app, tx, event) => app.notifications.record(tx, event),
    [Subject.OrderFailed]: (app, tx, event) => app.notifications.record(tx, event),
  },
});
