import fs from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { NatsAuth } from '../config.js';

/** A NATS connection that reconnects forever, with JetStream handles and a live "connected" flag. */
export interface Messaging {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** False while the client is between a disconnect and a reconnect. */
  isConnected(): boolean;
  close(): Promise<void>;
}

/** Connects to the NATS at `url` (comma-separated for a cluster), authenticating with `auth` when given. */
export async function connectMessaging(url: string, name: string, logger: Logger, auth?: NatsAuth): Promise<Messaging> {
  const nc = await connect({
    servers: url.split(','),
    name,
    ...authOptions(auth),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
    // Otherwise every request (each JetStream publish) captures two stack traces up front.
    noAsyncTraces: true,
  });
  let connected = true;
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
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  return {
    nc,
    js: jetstream(nc, { timeout: 10_000 }),
    jsm,
    isConnected: () => connected && !nc.isClosed(),
    close: async () => {
      if (nc.isClosed()) return;
      // Draining needs the server; without one (or a slow one) just close.
      if (!connected) return nc.close();
      await Promise.race([nc.drain(), new Promise((r) => setTimeout(r, 2000).unref())]);
      if (!nc.isClosed()) await nc.close();
    },
  };
}

function authOptions(auth: NatsAuth | undefined): Partial<ConnectionOptions> {
  if (!auth) return {};
  if ('user' in auth) return { user: auth.user, pass: auth.password };
  const file = auth.credsFile;
  // Read at every (re)connect, so rotated credentials apply without a restart.
  return { authenticator: credsAuthenticator(() => fs.readFileSync(file)) };
}
