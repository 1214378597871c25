import { loadServiceConfig } from '@shopflow/platform/config';
import { openDatabase } from '@shopflow/platform/db';
import { runService } from '@shopflow/platform/lifecycle';
import { createLogger } from '@shopflow/platform/logger';
import { createInventoryApp } from './app.js';
import { migrations } from './db/migrations.js';

// Inventory answers HTTP only and publishes no events, so it needs no NATS (unlike runDataService).
const config = loadServiceConfig('inventory');
const logger = createLogger('inventory');

runService(logger, config.shutdownTimeoutMs, async (shutdown) => {
  const db = await openDatabase(config.databaseUrl);
  shutdown.add('database', () => db.close());
  await db.migrate(migrations);
  const app = await createInventoryApp({ logger, db });
  // Registered after the database, so it closes first: in-flight requests finish before the pool goes.
  shutdown.add('http', () => app.http.close());
  await app.http.listen({ host: config.host, port: config.port });
  logger.info({ port: config.port, database: db.dialect }, 'inventory service ready');
});
