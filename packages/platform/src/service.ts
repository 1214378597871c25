import crypto from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import { SERVICE_EVENTS, Stream, streamOf, type EventOf, type ServiceEvents, type Subject } from '@shopflow/contracts';
import { loadServiceConfig, type ServiceConfig, type ServiceName } from './config.js';
import { openDatabase } from './db/index.js';
import type { Db, Migration, Queryable } from './db/types.js';
import type { ReadinessCheck } from './http/server.js';
import { isInfrastructureFailure } from './errors.js';
import { runService, type Listener } from './lifecycle.js';
import {
  consulRegistry,
  keepRegistered,
  natsRegistry,
  probeHealth,
  readyUrl,
  type Registration,
  type Registry,
} from './registry/index.js';
import { backoffDelay, delay } from './retry.js';

export type { Listener } from './lifecycle.js';
import { createLogger } from './logger.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { stopTelemetry } from './telemetry.js';
import { openMessaging, type Messaging } from './messaging/connection.js';
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
  /** The service's Prometheus metrics; its HTTP server serves them at /metrics. */
  metrics: ServiceMetrics;
  /** Where this instance registers (config.discovery); undefined when discovery is off. Readers list instances with it. */
  registry: Registry | undefined;
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
  /** The base URL serving /ready when `serves` is not HTTP (the payment service's side port). */
  httpAddress?(): string;
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

/**
 * Throws unless a definition publishes and consumes exactly what `SERVICE_EVENTS` declares for it,
 * which is what its NATS permissions are derived from.
 */
export function assertDeclaredEvents(definition: { name: ServiceName; publishes?: readonly Subject[]; consumes?: object }): void {
  const declared: ServiceEvents = Object.hasOwn(SERVICE_EVENTS, definition.name)
    ? SERVICE_EVENTS[definition.name as keyof typeof SERVICE_EVENTS]
    : { publishes: [], consumes: [] };
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
  const consumes = Object.keys(definition.consumes ?? {});
  if (!same(definition.publishes ?? [], declared.publishes) || !same(consumes, declared.consumes)) {
    throw new Error(
      `the ${definition.name} service publishes [${(definition.publishes ?? []).join(', ')}] and consumes [${consumes.join(', ')}], ` +
        `but SERVICE_EVENTS declares [${declared.publishes.join(', ')}] and [${declared.consumes.join(', ')}]`,
    );
  }
}

/** A started service: its app, what it stands on, and the address it listens at. */
export interface RunningService<A extends ServiceApp = ServiceApp> {
  app: A;
  address: string;
  db: Db | undefined;
  messaging: Messaging | undefined;
  outbox: Outbox | undefined;
  /**
   * Resolves once the service has its database (migrated) and its own work started: until then
   * HTTP requests answer 503 and /ready says "starting". Rejects if start-up cannot go on.
   */
  started: Promise<void>;
  /** Resolves once the consumers run too, which waits for NATS. */
  consuming: Promise<void>;
  /** Stops the service: listener, consumers, the app's work, the relay, clients, NATS, database. Idempotent. */
  stop(): Promise<void>;
}

function missing(name: ServiceName, what: string): never {
  throw new Error(`the ${name} service declares no ${what}`);
}

type Closer = () => Promise<void> | void;

/**
 * Starts a service from its definition. It listens at once; what needs the network comes after,
 * in the background, so a service starts and serves while a dependency is away:
 * - the database (created, migrated) is retried until it answers; requests answer 503 with
 *   Retry-After meanwhile and /ready says "starting";
 * - NATS is connected in the background; the outbox holds events until it is there, and the
 *   consumers start once it is.
 * Infrastructure failures are retried; anything else (a broken migration) rejects `started`.
 */
export async function startService<A extends ServiceApp>(
  definition: ServiceDefinition<A>,
  config: ServiceConfig,
  logger: Logger,
): Promise<RunningService<A>> {
  assertDeclaredEvents(definition);
  const consumed = Object.entries(definition.consumes ?? {}) as [Subject, Consumes<A>[Subject]][];
  const usesNats = consumed.length > 0 || (definition.publishes?.length ?? 0) > 0;
  const aborting = new AbortController();
  // Closed in this order: leave discovery first (callers stop choosing this instance), stop
  // taking work, close what the work uses last.
  const stages = {
    registration: [] as Closer[],
    listener: [] as Closer[],
    consumers: [] as Closer[],
    work: [] as Closer[],
    relay: [] as Closer[],
    clients: [] as Closer[],
    nats: [] as Closer[],
    database: [] as Closer[],
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      aborting.abort();
      for (const [stage, closers] of Object.entries(stages)) {
        for (const close of closers.reverse()) {
          try {
            await close();
          } catch (error) {
            logger.warn({ err: error, stage }, 'error while closing');
          }
        }
      }
    })());

  try {
    const db = definition.migrations ? await openDatabase(config.databaseUrl, config.database) : undefined;
    if (db) stages.database.push(() => db.close());
    const messaging = usesNats
      ? openMessaging(config.natsUrl, `shopflow-${definition.name}`, logger, config.natsAuth)
      : undefined;
    if (messaging) stages.nats.push(() => messaging.close());
    const registry = openRegistry(definition.name, config, logger, messaging, (close) => stages.nats.push(close));
    const outbox =
      db && messaging && definition.publishes?.length
        ? new Outbox(db, { publish: (subject, payload, options) => messaging.js.publish(subject, payload, options) }, logger)
        : undefined;
    const metrics = createServiceMetrics(definition.name);
    const durables = consumed.map(([subject]) => ({
      stream: streamOf(subject).name,
      durable: durableName(definition.name, subject),
    }));
    observeInfrastructure(metrics, { db, outbox, messaging, durables });
    const counts = {
      deliveries: metrics.counter('consumer_deliveries_total', 'Event deliveries received, by durable consumer', ['consumer']),
      redeliveries: metrics.counter('consumer_redeliveries_total', 'Deliveries that were redeliveries, by durable consumer', [
        'consumer',
      ]),
    };
    let starting: string | undefined = db ? 'waiting for the database' : undefined;
    // Made once NATS answers: it watches the streams' room (see StreamGuard).
    let guard: StreamGuard | undefined;
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
      checks: [
        {
          name: 'start-up',
          gate: true,
          check: () => {
            if (starting) throw new Error(starting);
          },
        },
        ...readinessChecks(db, messaging, () => guard),
      ],
      metrics,
      registry,
      defer: (_name, close) => void stages.clients.push(close),
    };
    const app = await definition.build(ctx);
    const address = await app.serves.listen(config.host, config.port);
    stages.listener.push(() => app.serves.close());
    if (registry) {
      // In the background: NATS or Consul may be away; the heartbeat keeps trying.
      const self = registrationOf(definition.name, config, address, app.httpAddress?.());
      const wildcard = config.host === '0.0.0.0' || config.host === '::';
      const ownReady = readyUrl({ ...self, address: wildcard ? '127.0.0.1' : config.host });
      const kept = keepRegistered(registry, self, {
        intervalMs: config.discovery.heartbeatMs,
        health: () => probeHealth(ownReady, Math.min(1000, config.discovery.heartbeatMs)),
        logger,
      });
      stages.registration.push(() => kept.stop());
    }

    const started = (async () => {
      if (db) {
        await untilAvailable('database', logger, aborting.signal, () =>
          db.migrate([...(usesNats ? messagingMigrations : []), ...definition.migrations!]),
        );
        if (consumed.length > 0) {
          stages.work.push(scheduleHourly('the inbox', logger, () => pruneInbox(db, config.inboxRetentionMs)));
        }
      }
      if (outbox) {
        outbox.start();
        stages.relay.push(() => outbox.stop());
      }
      if (app.start) await app.start();
      if (app.stop) stages.work.push(() => app.stop!());
      starting = undefined;
    })();
    const consuming = (async () => {
      await started;
      if (!messaging) return;
      await untilAvailable('nats', logger, aborting.signal, async () => {
        await messaging.ready;
        await ensureStreams(messaging.jsm, streamsOf(definition), { maxBytes: config.streamMaxBytes }, logger);
      });
      const watching = new StreamGuard(messaging.jsm, streamsOf(definition), logger, { outbox });
      watching.start();
      guard = watching;
      stages.work.push(() => watching.stop());
      for (const [subject, handle] of consumed) {
        const consumer = new EventConsumer(
          { messaging, db: db!, logger, ackWaitMs: config.ackWaitMs, maxDeliver: config.maxDeliver, counts },
          {
            stream: streamOf(subject),
            subject,
            durable: durableName(definition.name, subject),
            handle: (tx, event) => handle!(app, tx, event as never),
          },
        );
        await untilAvailable('nats', logger, aborting.signal, () => consumer.start());
        stages.consumers.push(() => consumer.stop());
      }
    })();
    // Whoever awaits them hears of a failure; an unawaited one must not crash the process twice.
    started.catch(() => undefined);
    consuming.catch(() => undefined);
    return { app, address, db, messaging, outbox, started, consuming, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The registry of config.discovery. With NATS, a service that has no NATS connection of its own
 * (gateway, inventory) opens one for the registry alone, closed with the others.
 */
function openRegistry(
  name: ServiceName,
  config: ServiceConfig,
  logger: Logger,
  messaging: Messaging | undefined,
  onClose: (close: Closer) => void,
): Registry | undefined {
  const { discovery } = config;
  if (discovery.mode === 'consul') {
    return consulRegistry({
      address: discovery.consulAddress!,
      ...(discovery.consulToken ? { token: discovery.consulToken } : {}),
      checkIntervalMs: discovery.heartbeatMs,
      // Consul's reaper honours nothing under a minute.
      deregisterCriticalAfterMs: 60_000,
    });
  }
  if (discovery.mode === 'off') return undefined;
  let nats = messaging;
  if (!nats) {
    const own = openMessaging(config.natsUrl, `shopflow-${name}-registry`, logger, config.natsAuth);
    onClose(() => own.close());
    nats = own;
  }
  // About three heartbeats: one lost renewal does not drop a live instance.
  return natsRegistry(nats, { ttlMs: discovery.heartbeatMs * 3 });
}

/** This instance as it registers: a process-unique id, the advertised host, and its ports. */
function registrationOf(
  name: ServiceName,
  config: ServiceConfig,
  address: string,
  httpAddress: string | undefined,
): Registration {
  const portOf = (a: string) => Number(new URL(/^\w+:\/\//.test(a) ? a : `tcp://${a}`).port);
  const port = portOf(address);
  const httpPort = httpAddress ? portOf(httpAddress) : address.startsWith('http') ? port : undefined;
  // Several instances may share a host and even a process (tests): the random part tells them apart.
  const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '-');
  return {
    service: name,
    id: `${name}-${host}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`,
    address: config.discovery.advertiseHost,
    port,
    ...(httpPort === undefined ? {} : { httpPort }),
    startedAt: new Date().toISOString(),
  };
}

/**
 * Runs `attempt` until it succeeds, retrying with capped backoff while the failure is the
 * infrastructure's (a NATS connection not made yet counts too); any other failure is thrown.
 */
async function untilAvailable(what: string, logger: Logger, signal: AbortSignal, attempt: () => Promise<unknown>): Promise<void> {
  for (let n = 1; ; n++) {
    try {
      await attempt();
      if (n > 1) logger.info({ attempts: n }, `${what} available; start-up goes on`);
      return;
    } catch (error) {
      if (signal.aborted) throw new Error('stopped while starting', { cause: error });
      if (!isInfrastructureFailure(error) && !isNatsUnavailable(error)) throw error;
      const wait = backoffDelay({ baseMs: 200, maxMs: 5000 }, n);
      if (n === 1 || n % 10 === 0)
        logger.warn({ err: error, attempt: n, retryInMs: wait }, `${what} unavailable at start-up; will retry`);
      await delay(wait, signal).catch(() => undefined);
    }
  }
}

/** NATS' own errors while the server is away (a request timing out, no responders, a closed connection). */
function isNatsUnavailable(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  const code = (error as { code?: unknown }).code;
  return (
    (typeof name === 'string' && /Timeout|NoResponders|Closed|Connection|RequestError/i.test(name)) ||
    (typeof code === 'string' && /TIMEOUT|503|CONNECTION|DISCONNECT|CLOSED/i.test(code))
  );
}

/** Runs `prune` now and hourly; returns the function that stops it. */
export function scheduleHourly(what: string, logger: Logger, prune: () => Promise<unknown>): () => void {
  const run = () => prune().catch((error: unknown) => logger.warn({ err: error }, `could not prune ${what}`));
  void run();
  const timer = setInterval(() => void run(), 3600_000).unref();
  return () => clearInterval(timer);
}

/**
 * Gauges read at scrape time from what the service stands on: its outbox, its consumers in
 * JetStream, its dead letters and its database pool.
 */
function observeInfrastructure(
  metrics: ServiceMetrics,
  parts: { db?: Db; outbox?: Outbox; messaging?: Messaging; durables: { stream: string; durable: string }[] },
): void {
  const { db, outbox, messaging, durables } = parts;
  if (outbox) {
    const backlog = oncePerScrape(() => outbox.backlog());
    metrics.gaugeOf('outbox_backlog', 'Outbox rows not yet acknowledged by JetStream', [], async () => [
      [{}, (await backlog()).rows],
    ]);
    metrics.gaugeOf('outbox_oldest_age_seconds', 'How long the oldest unsent outbox row has waited', [], async () => [
      [{}, (await backlog()).oldestAgeMs / 1000],
    ]);
  }
  if (messaging && durables.length > 0) {
    const infos = oncePerScrape(() =>
      Promise.all(durables.map(async (d) => ({ ...d, info: await messaging.jsm.consumers.info(d.stream, d.durable) }))),
    );
    metrics.gaugeOf('consumer_pending', 'Events in the stream not yet delivered to the consumer', ['consumer'], async () =>
      (await infos()).map(({ durable, info }) => [{ consumer: durable }, info.num_pending]),
    );
    metrics.gaugeOf('consumer_ack_pending', 'Events delivered to the consumer and not yet acknowledged', ['consumer'], async () =>
      (await infos()).map(({ durable, info }) => [{ consumer: durable }, info.num_ack_pending]),
    );
    metrics.gaugeOf('dlq_messages', "Dead letters parked for the service's consumers", ['consumer'], async () => {
      const info = await messaging.jsm.streams.info(Stream.DeadLetter.name, { subjects_filter: 'dlq.>' });
      const counts = new Map<string, number>(durables.map((d) => [d.durable, 0]));
      for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
        const durable = subject.split('.')[1] ?? '';
        if (counts.has(durable)) counts.set(durable, counts.get(durable)! + n);
      }
      return [...counts].map(([consumer, n]) => [{ consumer }, n]);
    });
  }
  const pool = db?.poolStats?.bind(db);
  if (pool) {
    metrics.gaugeOf(
      'db_pool_connections',
      'Database pool connections by state (waiting: callers queued for one)',
      ['state'],
      () => {
        const { total, idle, waiting } = pool();
        return [
          [{ state: 'busy' }, total - idle],
          [{ state: 'idle' }, idle],
          [{ state: 'waiting' }, waiting],
        ];
      },
    );
  }
}

/**
 * `read`, shared by the gauges of one scrape: two gauges drawn from the same query (the outbox's
 * count and its oldest row, a consumer's pending and ack-pending) make one round trip, not two.
 */
function oncePerScrape<T>(read: () => Promise<T>, forMs = 500): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > forMs) last = { at: now, value: read() };
    return last.value;
  };
}

/**
 * /ready for what a service stands on. The database is critical; NATS is not: the service keeps
 * serving reads and taking writes into its outbox while NATS is away.
 */
function readinessChecks(
  db: Db | undefined,
  messaging: Messaging | undefined,
  guard: () => StreamGuard | undefined,
): ReadinessCheck[] {
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
  if (messaging) checks.push({ name: 'streams', critical: false, check: () => guard()?.assertRoom() });
  return checks;
}

/** The process edge of every service: config and logger, then `startService`; SIGTERM stops it. */
export function runServiceProcess<A extends ServiceApp>(definition: ServiceDefinition<A>): void {
  const config = loadServiceConfig(definition.name);
  const logger = createLogger(definition.name, config.logLevel);
  runService(logger, config.shutdownTimeoutMs, async (shutdown) => {
    const running = await startService(definition, config, logger);
    // Spans still buffered go out after the service has stopped.
    shutdown.add(definition.name, () => running.stop().finally(() => stopTelemetry()));
    logger.info({ address: running.address }, `${definition.name} listening; starting`);
    // A failure past the point of listening (a broken migration) is as fatal as one before it.
    await running.started;
    logger.info({ address: running.address, database: running.db?.dialect }, `${definition.name} service ready`);
    running.consuming.catch((error: unknown) => {
      logger.fatal({ err: error }, 'consumers could not start');
      void shutdown.run('consumers could not start').finally(() => process.exit(1));
    });
  });
}
