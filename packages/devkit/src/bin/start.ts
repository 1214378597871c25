#!/usr/bin/env node
// `npm start`: the whole system under one supervisor. Uses the NATS at NATS_URL when one answers,
// otherwise starts a local nats-server with JetStream (store under ./.data/nats) and a user per
// service, with fresh passwords (the operator's left in .data/nats for `npm run dlq`); starts the six
// services with prefixed logs, waits until every one is ready, and stops everything on Ctrl-C.
// A crashed or hung service, or the nats-server it launched, is restarted with backoff until its
// crash-loop budget is spent; then it is given up on loudly while the rest keep running.
import path from 'node:path';
import { Role } from '@shopflow/contracts/api';
import { loadDevKey, mintToken } from '@shopflow/platform/auth';
import { SERVICE_NAMES, ServiceDefaults, envInt, portOf, type ServiceName } from '@shopflow/platform/config';
import { formatLogLine } from '../log-format.js';
import { createNatsUsers, natsServiceEnv, saveAdminCredentials, type NatsUsers } from '../nats-auth.js';
import { DEFAULT_MAX_FILE_STORE, findNatsServer } from '../nats-server.js';
import { formatGiveUp, type GiveUp } from '../restart-budget.js';
import { SupervisedNats } from '../supervised-nats.js';
import { supervisionFromEnv } from '../supervision-config.js';
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
  const { restartPolicy, liveness } = supervisionFromEnv(process.env);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const gaveUp: string[] = [];
  // A give-up leaves the rest running (reads and what still works stay useful); nothing left is an error.
  const giveUp = (report: GiveUp) => {
    gaveUp.push(report.name);
    say(formatGiveUp({ ...report, tail: report.tail.map((line) => formatLogLine(report.name, line, false)) }, colour));
    if (services.every((s) => s.gaveUp)) void stop('every service given up');
    else say(`the rest keep running; fix ${report.name} and run npm start again (Ctrl-C exits with code 1)`);
  };

  for (const name of SERVICE_NAMES) {
    const port = portOf(name);
    if (await isListening(port)) {
      say(
        `port ${port} (${ServiceDefaults[name].portEnv}) is already in use: stop what holds it or set ${ServiceDefaults[name].portEnv}`,
      );
      process.exit(1);
    }
  }

  let nats: SupervisedNats | undefined;
  let users: NatsUsers | undefined;
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
    // A cap, so that a backlog fills NATS's store and not the disk the databases share; it must
    // hold the four streams' NATS_STREAM_MAX_MB, which the server reserves.
    const maxStoreMb = envInt('NATS_MAX_STORE_MB', DEFAULT_MAX_FILE_STORE / 1024 ** 2, { min: 1 });
    users = createNatsUsers();
    nats = await SupervisedNats.start({
      port: natsPort,
      storeDir: path.join(dataDir, 'nats'),
      maxFileStore: maxStoreMb * 1024 * 1024,
      users,
      restartPolicy,
      onExit: (code, signal, restartInMs) => {
        if (restartInMs !== undefined)
          say(`nats-server exited (${signal ?? `code ${code}`}); restarting in ${seconds(restartInMs)}`);
      },
      onRestart: () => say('nats-server is back (same store)'),
      onGiveUp: giveUp,
    });
    saveAdminCredentials(nats.server.storeDir, users.admin);
    say(`started nats-server with JetStream on ${nats.url} (store ${path.join(dataDir, 'nats')}, at most ${maxStoreMb} MB)`);
  }

  const env: NodeJS.ProcessEnv = { ...process.env, NATS_URL: natsUrl, DATA_DIR: dataDir };
  let stopping = false;
  const services = SERVICE_NAMES.map(
    (name, index) =>
      new ServiceProcess({
        name,
        port: portOf(name),
        env: { ...env, ...natsServiceEnv(users, name) },
        sink: (service, line) => process.stdout.write(`${formatLogLine(service, line, colour, index)}\n`),
        restartPolicy,
        liveness,
        onExit: (service: ServiceName, code, signal, restartInMs) => {
          if (!stopping && restartInMs !== undefined)
            say(`${service} exited (${signal ?? `code ${code}`}); restarting in ${seconds(restartInMs)}`);
        },
        onHang: (service, silentMs) => say(`${service} has not answered its health check for ${seconds(silentMs)}: killing it`),
        onGiveUp: giveUp,
      }),
  );

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping all services…`);
    await Promise.all(services.map((s) => s.stop()));
    await nats?.stop();
    say('stopped');
    if (gaveUp.length > 0) say(`gave up on ${gaveUp.join(', ')} during this run (see above): exit code 1`);
    process.exit(gaveUp.length > 0 ? 1 : 0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  for (const s of services) s.start();
  // A service given up on during start-up is reported already; any other failure to get ready ends the start.
  await Promise.all(
    services.map((s) =>
      s.waitReady(120_000).catch((error: unknown) => {
        if (!s.gaveUp) throw error;
      }),
    ),
  );
  const gateway = `http://127.0.0.1:${portOf('gateway')}`;
  const down = services.filter((s) => s.gaveUp).map((s) => s.name);
  const up = down.length === 0 ? 'all six services' : `${6 - down.length} of 6 services (not ${down.join(', ')})`;
  say(`${up} ready in ${((Date.now() - started) / 1000).toFixed(1)} s — gateway at ${gateway}`);
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
