#!/usr/bin/env node
// `npm start`: the whole system under one supervisor. Uses the NATS at NATS_URL when one answers,
// otherwise starts a local nats-server with JetStream (store under ./.data/nats); starts the six
// services with prefixed logs, waits until every one is ready, restarts a crashed service with
// backoff, and stops everything on Ctrl-C.
import path from 'node:path';
import { Role } from '@shopflow/contracts/api';
import { loadDevKey, mintToken } from '@shopflow/platform/auth';
import { SERVICE_NAMES, ServiceDefaults, portOf, type ServiceName } from '@shopflow/platform/config';
import { formatLogLine } from '../log-format.js';
import { NatsServer, findNatsServer } from '../nats-server.js';
import { REPO_ROOT, ServiceProcess } from '../supervisor.js';
import { isListening } from '../wait.js';

const colour = process.stdout.isTTY === true;
const say = (text: string) => process.stdout.write(`${colour ? '\x1b[1m' : ''}shopflow${colour ? '\x1b[0m' : ''} ${text}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(REPO_ROOT, '.data'));
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const natsTarget = new URL(natsUrl.split(',')[0]!.replace(/^nats:/, 'http:'));
  const natsPort = Number(natsTarget.port || 4222);

  for (const name of SERVICE_NAMES) {
    const port = portOf(name);
    if (await isListening(port)) {
      say(
        `port ${port} (${ServiceDefaults[name].portEnv}) is already in use: stop what holds it or set ${ServiceDefaults[name].portEnv}`,
      );
      process.exit(1);
    }
  }

  let nats: NatsServer | undefined;
  if (await isListening(natsPort, natsTarget.hostname)) {
    say(`using NATS at ${natsUrl}`);
  } else {
    if (!findNatsServer()) {
      say(
        'nats-server not found and no NATS answers at ' +
          natsUrl +
          ': install it (Debian/Ubuntu: sudo apt-get install -y nats-server; macOS: brew install nats-server) or set NATS_URL',
      );
      process.exit(1);
    }
    nats = await NatsServer.start({ port: natsPort, storeDir: path.join(dataDir, 'nats') });
    say(`started nats-server with JetStream on ${nats.url} (store ${path.join(dataDir, 'nats')})`);
  }

  const env: NodeJS.ProcessEnv = { ...process.env, NATS_URL: natsUrl, DATA_DIR: dataDir };
  let stopping = false;
  const services = SERVICE_NAMES.map(
    (name, index) =>
      new ServiceProcess({
        name,
        port: portOf(name),
        env,
        sink: (service, line) => process.stdout.write(`${formatLogLine(service, line, colour, index)}\n`),
        onExit: (service: ServiceName, code, signal) => {
          if (!stopping) say(`${service} exited (${signal ?? `code ${code}`}); restarting with backoff`);
        },
      }),
  );

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping all services…`);
    await Promise.all(services.map((s) => s.stop()));
    await nats?.stop();
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  for (const s of services) s.start();
  await Promise.all(services.map((s) => s.waitReady(120_000)));
  const gateway = `http://127.0.0.1:${portOf('gateway')}`;
  say(`all six services ready in ${((Date.now() - started) / 1000).toFixed(1)} s — gateway at ${gateway}`);
  // The gateway verifies with the key under DATA_DIR unless AUTH_JWKS_URL points at an identity provider.
  if (process.env.AUTH_JWKS_URL) {
    say('tokens come from your identity provider (AUTH_JWKS_URL)');
    return;
  }
  const key = await loadDevKey(dataDir);
  const customer = await mintToken(key, { subject: 'CUST001', ttlSeconds: 12 * 3600 });
  const admin = await mintToken(key, { subject: 'admin', role: Role.Admin, ttlSeconds: 12 * 3600 });
  say(`customer CUST001 token (12 h; more with npm run token -- <customer_id> [--admin]):\n  export TOKEN=${customer}`);
  say(`admin token:\n  export ADMIN_TOKEN=${admin}`);
  say(`dashboard: ${gateway}/?token=${admin}`);
  say(`API docs: ${gateway}/docs`);
  say(
    `try: curl -s -X POST ${gateway}/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"customer_id":"CUST001","product_id":"PROD001","quantity":2,"amount":99.99}'`,
  );
  say(
    `then: curl -s ${gateway}/orders/<id> -H "Authorization: Bearer $TOKEN"   ·   curl -s ${gateway}/inventory/PROD001   ·   curl -s '${gateway}/notifications?customer_id=CUST001' -H "Authorization: Bearer $TOKEN"`,
  );
}

main().catch((error: unknown) => {
  say(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
