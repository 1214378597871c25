import { Stream } from '@shopflow/contracts';
import { runDataService } from '@shopflow/platform/service';
import { createLogSender } from './adapters/log-sender.js';
import { createNotificationApp } from './app.js';
import { migrations } from './db/migrations.js';

runDataService({
  name: 'notification',
  migrations,
  streams: [Stream.Orders, Stream.DeadLetter],
  async start({ config, logger, db, messaging }) {
    const app = await createNotificationApp({ config, logger, db, messaging, sender: createLogSender(logger) });
    await app.start();
    await app.http.listen({ host: config.host, port: config.port });
    return () => app.stop();
  },
});
