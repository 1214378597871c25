import type { Logger } from 'pino';
import { loadServiceConfig, type ServiceConfig, type ServiceName } from './config.js';
import { openDatabase } from './db/index.js';
import type { Db, Migration } from './db/types.js';
import type { ReadinessCheck } from './http/server.js';
import { runService, type Shutdown } from './lifecycle.js';
import { createLogger } from './logger.js';
import { connectMessaging, type Messaging } from './messaging/connection.js';
import { messagingMigrations } from './messaging/schema.js';
import { pruneInbox } from './messaging/consumer.js';
import { ensureStreams, type StreamSpec } from './messaging/streams.js';

/** What a service's composition root receives once its database and NATS are up. */
export interface ServiceContext {
  config: ServiceConfig;
  logger: Logger;
  db: Db;
  messaging: Messaging;
  shutdown: Shutdown;
}

export interface ServiceDefinition {
  name: ServiceName;
  /** The service's own tables; the outbox and inbox tables are added automatically. */
  migrations: readonly Migration[];
  /** Streams the service publishes to or consumes from. */
  streams: readonly StreamSpec[];
  /** Builds and starts the service; returns a closer that stops taking work. */
  start(ctx: ServiceContext): Promise<() => Promise<void>>;
}

/**
 * The process edge shared by the services that own data: config, logger, database (created and
 * migrated), NATS with its streams, then the service itself; SIGTERM closes them in reverse.
 */
export function runDataService(definition: ServiceDefinition): void {
  const config = loadServiceConfig(definition.name);
  const logger = createLogger(definition.name);
  runService(logger, config.shutdownTimeoutMs, async (shutdown) => {
    const db = await openDatabase(config.databaseUrl);
    shutdown.add('database', () => db.close());
    await db.migrate([...messagingMigrations, ...definition.migrations]);
    const prune = () =>
      pruneInbox(db, config.inboxRetentionMs).catch((error: unknown) => logger.warn({ err: error }, 'could not prune the inbox'));
    void prune();
    const pruning = setInterval(() => void prune(), 3600_000).unref();
    shutdown.add('inbox pruning', () => clearInterval(pruning));
    const messaging = await connectMessaging(config.natsUrl, `shopflow-${definition.name}`, logger);
    shutdown.add('nats', () => messaging.close());
    await ensureStreams(messaging.jsm, definition.streams);
    const stop = await definition.start({ config, logger, db, messaging, shutdown });
    shutdown.add(definition.name, stop);
    logger.info({ port: config.port, database: db.dialect }, `${definition.name} service ready`);
  });
}

/**
 * /ready for a service with a database and NATS. The database is critical; NATS is not: the
 * service keeps serving reads and taking writes into its outbox while NATS is away.
 */
export function dataServiceChecks(db: Db, messaging: Messaging): ReadinessCheck[] {
  return [
    { name: 'database', check: () => db.ping() },
    {
      name: 'nats',
      critical: false,
      check: () => {
        if (!messaging.isConnected()) throw new Error('disconnected');
      },
    },
  ];
}
