import type { Logger } from 'pino';
import { Stream, streamOf, type EventOf, type Subject } from '@shopflow/contracts';
import { loadServiceConfig, type ServiceConfig, type ServiceName } from './config.js';
import { openDatabase } from './db/index.js';
import type { Db, Migration, Queryable } from './db/types.js';
import type { ReadinessCheck } from './http/server.js';
import { runService, type Listener } from './lifecycle.js';

export type { Listener } from './lifecycle.js';
import { createLogger } from './logger.js';
import { connectMessaging, type Messaging } from './messaging/connection.js';
import { EventConsumer, pruneInbox } from './messaging/consumer.js';
import { Outbox } from './messaging/outbox.js';
import { messagingMigrations } from './messaging/schema.js';
import { StreamGuard } from './messaging/stream-guard.js';
import { ensureStreams, type StreamSpec } from './messaging/streams.js';

/** What a service's `build` receives: its settings and what the definition says it stands on. */
export interface ServiceContext {
  config: ServiceConfig;
  logger: Logger;
  /** The service's own database, migrated. Only for a definition with `migrations`. */
  db: Db;
  /** Only for a definition that publishes or consumes. */
  messaging: Messaging;
  /** The service's transactional outbox; its relay runs while the service does. Only for a definition that publishes. */
  outbox: Outbox;
  /** /ready checks for the database and NATS, as the definition uses them. */
  checks: ReadinessCheck[];
  /** Registers something `build` opened (a client) to close after the service has stopped. */
  defer(name: string, close: () => Promise<void> | void): void;
}

/** What `build` returns: the service's app, which the definition's handlers and the tests use. */
export interface ServiceApp {
  /** Where the service takes requests (`httpListener(http)` for an HTTP server). */
  serves: Listener;
  /** Work of the service's own that runs once events flow (the saga's runner); started before the consumers. */
  start?(): Promise<void>;
  /** Stops that work; runs after the consumers have stopped. */
  stop?(): Promise<void>;
}

/** One handler per consumed subject, applied inside the transaction that records the event in the inbox. */
export type Consumes<A> = { [S in Subject]?: (app: A, tx: Queryable, event: EventOf<S>) => Promise<void> };

/** A service as a whole: what it stands on, what it publishes and consumes, how it is built. */
export interface ServiceDefinition<A extends ServiceApp = ServiceApp> {
  name: ServiceName;
  /** The service's own tables. Without them the service has no database. */
  migrations?: readonly Migration[];
  /** Subjects the service publishes through its outbox. */
  publishes?: readonly Subject[];
  /** Wires the service from its context. */
  build(ctx: ServiceContext): Promise<A>;
  /** What the service consumes: one line per subject; streams and durable consumers follow from it. */
  consumes?: Consumes<A>;
}

/** Declares a service; the identity function that lets TypeScript tie `consumes` to what `build` returns. */
export function defineService<A extends ServiceApp>(definition: ServiceDefinition<A>): ServiceDefinition<A> {
  return definition;
}

/** The durable consumer name of `service` on `subject`, e.g. `saga-orders-created`. */
export function durableName(service: ServiceName, subject: Subject): string {
  return `${service}-${subject.replaceAll('.', '-')}`;
}

/** The streams a definition publishes to or consumes from; a consumer also needs the dead-letter stream. */
export function streamsOf(definition: { publishes?: readonly Subject[]; consumes?: object }): StreamSpec[] {
  const consumed = Object.keys(definition.consumes ?? {}) as Subject[];
  const streams = [...(definition.publishes ?? []), ...consumed].map(streamOf);
  if (consumed.length > 0) streams.push(Stream.DeadLetter);
  return [...new Set(streams)];
}

/** A started service: its app, what it stands on, and the address it listens at. */
export interface RunningService<A extends ServiceApp = ServiceApp> {
  app: A;
  address: string;
  db: Db | undefined;
  messaging: Messaging | undefined;
  outbox: Outbox | undefined;
  /** Stops the service in the reverse order of its start. Idempotent. */
  stop(): Promise<void>;
}

function missing(name: ServiceName, what: string): never {
  throw new Error(`the ${name} service declares no ${what}`);
}

/**
 * Starts a service from its definition, in the order the definition implies: database (migrated),
 * NATS and streams, build, outbox relay, the app's own work, consumers, then the listener.
 * Stopping runs the same in reverse, so in-flight requests finish before what they use goes.
 * A start that fails part-way closes what it had opened.
 */
export async function startService<A extends ServiceApp>(
  definition: ServiceDefinition<A>,
  config: ServiceConfig,
  logger: Logger,
): Promise<RunningService<A>> {
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  const defer = (name: string, close: () => Promise<void> | void) => void closers.push({ name, close });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const { name, close } of closers.reverse()) {
        try {
          await close();
        } catch (error) {
          logger.warn({ err: error, hook: name }, 'error while closing');
        }
      }
    })());

  try {
    const consumed = Object.entries(definition.consumes ?? {}) as [Subject, Consumes<A>[Subject]][];
    const usesNats = consumed.length > 0 || (definition.publishes?.length ?? 0) > 0;
    let db: Db | undefined;
    if (definition.migrations) {
      const opened = await openDatabase(config.databaseUrl, config.database);
      db = opened;
      defer('database', () => opened.close());
      await opened.migrate([...(usesNats ? messagingMigrations : []), ...definition.migrations]);
      if (consumed.length > 0) scheduleInboxPruning(opened, config.inboxRetentionMs, logger, defer);
    }
    let messaging: Messaging | undefined;
    if (usesNats) {
      const connected = await connectMessaging(config.natsUrl, `shopflow-${definition.name}`, logger);
      messaging = connected;
      defer('nats', () => connected.close());
      await ensureStreams(connected.jsm, streamsOf(definition), { maxBytes: config.streamMaxBytes }, logger);
    }
    const outbox = db && messaging && definition.publishes?.length ? new Outbox(db, messaging.js, logger) : undefined;
    const guard = messaging && new StreamGuard(messaging.jsm, streamsOf(definition), logger, { outbox });
    const ctx: ServiceContext = {
      config,
      logger,
      get db() {
        return db ?? missing(definition.name, 'database');
      },
      get messaging() {
        return messaging ?? missing(definition.name, 'messaging');
      },
      get outbox() {
        return outbox ?? missing(definition.name, 'published subjects');
      },
      checks: readinessChecks(db, messaging, guard),
      defer,
    };
    const app = await definition.build(ctx);
    guard?.start();
    if (guard) defer('stream guard', () => guard.stop());
    if (outbox) {
      outbox.start();
      defer('outbox relay', () => outbox.stop());
    }
    if (app.start) await app.start();
    if (app.stop) defer(`${definition.name} work`, () => app.stop!());
    for (const [subject, handle] of consumed) {
      const consumer = new EventConsumer(
        {
          messaging: messaging!,
          db: db ?? missing(definition.name, 'database'),
          logger,
          ackWaitMs: config.ackWaitMs,
          maxDeliver: config.maxDeliver,
        },
        {
          stream: streamOf(subject),
          subject,
          durable: durableName(definition.name, subject),
          handle: (tx, event) => handle!(app, tx, event as never),
        },
      );
      await consumer.start();
      defer(`consumer of ${subject}`, () => consumer.stop());
    }
    const address = await app.serves.listen(config.host, config.port);
    defer('listener', () => app.serves.close());
    return { app, address, db, messaging, outbox, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function scheduleInboxPruning(db: Db, retentionMs: number, logger: Logger, defer: ServiceContext['defer']): void {
  const prune = () =>
    pruneInbox(db, retentionMs).catch((error: unknown) => logger.warn({ err: error }, 'could not prune the inbox'));
  void prune();
  const pruning = setInterval(() => void prune(), 3600_000).unref();
  defer('inbox pruning', () => clearInterval(pruning));
}

/**
 * /ready for what a service stands on. The database is critical; NATS is not: the service keeps
 * serving reads and taking writes into its outbox while NATS is away.
 */
function readinessChecks(db: Db | undefined, messaging: Messaging | undefined, guard?: StreamGuard): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [];
  if (db) checks.push({ name: 'database', check: () => db.ping() });
  if (messaging) {
    checks.push({
      name: 'nats',
      critical: false,
      check: () => {
        if (!messaging.isConnected()) throw new Error('disconnected');
      },
    });
  }
  // Not critical either: a full stream holds publishes in the outbox; reads and writes go on.
  if (guard) checks.push({ name: 'streams', critical: false, check: () => guard.assertRoom() });
  return checks;
}

/** The process edge of every service: config and logger, then `startService`; SIGTERM stops it. */
export function runServiceProcess<A extends ServiceApp>(definition: ServiceDefinition<A>): void {
  const config = loadServiceConfig(definition.name);
  const logger = createLogger(definition.name, config.logLevel);
  runService(logger, config.shutdownTimeoutMs, async (shutdown) => {
    const running = await startService(definition, config, logger);
    shutdown.add(definition.name, () => running.stop());
    logger.info({ address: running.address, database: running.db?.dialect }, `${definition.name} service ready`);
  });
}
