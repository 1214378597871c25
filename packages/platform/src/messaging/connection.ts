import fs from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { NatsAuth } from '../config.js';
import { InfrastructureError } from '../errors.js';
import { backoffDelay, delay } from '../retry.js';

/**
 * A NATS connection that reconnects forever, with JetStream handles and a live "connected" flag.
 * Opened without waiting: until the first connection, the handles throw an InfrastructureError
 * (a publish fails and is retried; the service keeps serving meanwhile).
 */
export interface Messaging {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Resolves once the first connection is made; rejects only if closed before that. */
  readonly ready: Promise<void>;
  /** False before the first connection and while the client is between a disconnect and a reconnect. */
  isConnected(): boolean;
  close(): Promise<void>;
}

interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/**
 * Opens a connection to the NATS at `url` (comma-separated for a cluster) in the background,
 * authenticating with `auth` when given, and tries again with capped backoff until NATS answers
 * or close() is called.
 */
export function openMessaging(url: string, name: string, logger: Logger, auth?: NatsAuth): Messaging {
  let connection: Connected | undefined;
  let connected = false;
  const closing = new AbortController();

  const ready = (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        const nc = await connect({
          servers: url.split(','),
          name,
          ...authOptions(auth),
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          pingInterval: 10_000,
          // Otherwise every request (each JetStream publish) captures two stack traces up front.
          noAsyncTraces: true,
        });
        if (closing.signal.aborted) {
          await nc.close();
          break;
        }
        // A server that answers without JetStream (yet) is tried again; this connection must not linger.
        const jsm = await jetstreamManager(nc, { timeout: 10_000 }).catch(async (error: unknown) => {
          await nc.close();
          throw error;
        });
        watch(nc);
        connection = { nc, js: jetstream(nc, { timeout: 10_000 }), jsm };
        connected = true;
        if (attempt > 1) logger.info({ attempts: attempt }, 'NATS connected');
        return;
      } catch (error) {
        if (closing.signal.aborted) break;
        const wait = backoffDelay({ baseMs: 250, maxMs: 5000 }, attempt);
        if (attempt === 1 || attempt % 20 === 0)
          logger.warn({ err: error, attempt, retryInMs: wait }, 'NATS unreachable; will retry');
        await delay(wait, closing.signal).catch(() => undefined);
      }
    }
    throw new InfrastructureError('nats', 'closed before connecting');
  })();
  // Nobody need await it; a close before connecting is not an error for the owner.
  ready.catch(() => undefined);

  function watch(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          connected = false;
          logger.warn({ server: s.server }, 'NATS disconnected');
        } else if (s.type === 'reconnect') {
          connected = true;
          logger.info({ server: s.server }, 'NATS reconnected');
        }
      }
    })();
  }

  const current = (): Connected => {
    if (!connection) throw new InfrastructureError('nats', 'not connected yet');
    return connection;
  };

  return {
    get nc() {
      return current().nc;
    },
    get js() {
      return current().js;
    },
    get jsm() {
      return current().jsm;
    },
    ready,
    isConnected: () => connected && connection !== undefined && !connection.nc.isClosed(),
    async close() {
      closing.abort();
      const nc = connection?.nc;
      if (!nc || nc.isClosed()) return;
      // Draining needs the server; without one (or a slow one) just close.
      if (!connected) return nc.close();
      await Promise.race([nc.drain(), new Promise((r) => setTimeout(r, 2000).unref())]);
      if (!nc.isClosed()) await nc.close();
    },
  };
}

/** Connects and waits for the first connection (for tools and tests that need NATS at once). */
export async function connectMessaging(url: string, name: string, logger: Logger, auth?: NatsAuth): Promise<Messaging> {
  const messaging = openMessaging(url, name, logger, auth);
  await messaging.ready;
  return messaging;
}

function authOptions(auth: NatsAuth | undefined): Partial<ConnectionOptions> {
  if (!auth) return {};
  if ('user' in auth) return { user: auth.user, pass: auth.password };
  const file = auth.credsFile;
  // Read at every (re)connect, so rotated credentials apply without a restart.
  return { authenticator: credsAuthenticator(() => fs.readFileSync(file)) };
}
