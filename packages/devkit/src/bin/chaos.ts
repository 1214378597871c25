#!/usr/bin/env node
// `npm run chaos`: the whole system under a seeded random load of orders while processes are
// killed, frozen and events duplicated; then, once it is quiet, DESIGN.md's invariants are checked.
//   npm run chaos                       one round of every fault (the form CI runs), PostgreSQL
//   npm run chaos -- --minutes 30       rounds of faults for 30 minutes (a soak)
//   npm run chaos -- --seed 42          replays the order stream and fault plan of seed 42
//   npm run chaos -- --databases sqlite the embedded default instead of PostgreSQL
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '@shopflow/platform/logger';
import { connectMessaging } from '@shopflow/platform/messaging';
import { Role } from '@shopflow/contracts/api';
import { LoadGenerator } from '../chaos/load.js';
import { Prng } from '../chaos/prng.js';
import { duplicateAndReorder, freeze, killEachService, killNats } from '../chaos/faults.js';
import { SystemDatabases, checkInvariants, quiet, sagaPaths } from '../chaos/invariants.js';
import { REPO_ROOT } from '../supervisor.js';
import { TestSystem } from '../system.js';
import { waitFor } from '../wait.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    minutes: { type: 'string' },
    rate: { type: 'string', default: '10' },
    products: { type: 'string', default: '5' },
    databases: { type: 'string', default: 'postgres' },
    'success-rate': { type: 'string', default: '0.8' },
  },
});

const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const minutes = values.minutes ? Number(values.minutes) : 0;
const rate = Number(values.rate);
const productCount = Number(values.products);
const databases = values.databases === 'sqlite' ? 'sqlite' : 'postgres';
const ackWaitMs = 4000;
// Longer than a saga step may take, so charges in flight time out and are compensated while the
// payment service is frozen (and longer than the ack wait, so frozen consumers see redeliveries).
const stepTimeoutMs = 6000;
const started = Date.now();
const say = (text: string) =>
  process.stdout.write(`[chaos ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${text}\n`);

async function main(): Promise<number> {
  const prng = new Prng(seed);
  const logDir = path.join(REPO_ROOT, '.chaos', `${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(logDir, { recursive: true });
  const logs = new Map<string, fs.WriteStream>();
  const sink = (name: string, line: string) => {
    if (!logs.has(name)) logs.set(name, fs.createWriteStream(path.join(logDir, `${name}.log`)));
    logs.get(name)!.write(`${line}\n`);
  };
  say(
    `seed=${seed} databases=${databases} rate=${rate}/s ${minutes > 0 ? `minutes=${minutes}` : 'one round'} logs=${path.relative(process.cwd(), logDir)}`,
  );

  const system = await TestSystem.start({
    databases,
    sink,
    env: {
      PAYMENT_SUCCESS_RATE: values['success-rate'],
      NATS_ACK_WAIT_MS: String(ackWaitMs),
      NATS_MAX_DELIVER: '1000',
      SAGA_STEP_TIMEOUT_MS: String(stepTimeoutMs),
      SAGA_CALL_TIMEOUT_MS: '1500',
      LOG_LEVEL: 'info',
    },
  });
  const messaging = await connectMessaging(system.natsUrl, 'shopflow-chaos', createLogger('chaos', 'silent'), system.natsAdmin);
  const dbs = await SystemDatabases.open(system.databaseUrls);
  let keepData = false;
  try {
    // Small stock, so plenty of orders are cancelled for want of it while others complete.
    const expectedOrders = rate * Math.max(60, minutes * 60);
    const stockEach = Math.max(20, Math.ceil((expectedOrders * 2 * 0.6) / productCount));
    const initialStock = new Map<string, number>();
    const admin = await system.authorization('chaos-operator', Role.Admin);
    for (let i = 0; i < productCount; i++) {
      const id = `CHAOS-${seed}-${i}`;
      const res = await fetch(`${system.gatewayUrl}/inventory/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...admin },
        body: JSON.stringify({ product_name: `Chaos ${i}`, available_quantity: stockEach }),
      });
      if (res.status !== 201) throw new Error(`could not create product ${id}: ${res.status}`);
      initialStock.set(id, stockEach);
    }

    const load = new LoadGenerator({
      gatewayUrl: system.gatewayUrl,
      authorization: (customerId) => system.authorization(customerId),
      products: [...initialStock.keys()],
      rate,
      cancelRate: 0.05,
      seed,
    });
    load.start();
    say(`load started: ${productCount} products × ${stockEach} in stock`);

    let faults = 0;
    const deadline = started + minutes * 60_000;
    do {
      await new Promise((r) => setTimeout(r, 3000));
      faults += await killEachService(system, prng, say);
      faults += await killNats(system, prng, say);
      faults += await freeze(system, 'payment', Math.max(ackWaitMs, stepTimeoutMs) + 3000, say);
      faults += await freeze(system, 'notification', ackWaitMs + 2000, say);
      faults += await duplicateAndReorder(messaging, prng, say);
    } while (Date.now() < deadline);
    const faultsEnded = Date.now();

    await new Promise((r) => setTimeout(r, 3000));
    const result = await load.stop();
    say(
      `load stopped: ${result.acknowledged.size} orders acknowledged, ${result.retries} client retries, ${result.cancelRequests} cancel requests`,
    );

    let lastDetail = '';
    await waitFor(
      'the system to quiesce',
      async () => {
        const q = await quiet(dbs, messaging);
        if (q.detail !== lastDetail) say(`waiting: ${(lastDetail = q.detail)}`);
        return q.quiet;
      },
      { timeoutMs: 5 * 60_000, intervalMs: 500 },
    ).catch((error: Error) => say(error.message));
    // From the last fault (the load ran on for 3 s after it) until every order, saga, outbox and consumer was settled.
    const quiesceS = ((Date.now() - faultsEnded) / 1000).toFixed(1);

    const { violations, counts } = await checkInvariants(dbs, messaging, result.acknowledged, initialStock);
    for (const v of violations.slice(0, 50)) say(`VIOLATION ${v}`);
    if (violations.length > 50) say(`… and ${violations.length - 50} more`);
    if (result.rejected > 0) say(`note: ${result.rejected} order requests were refused with a 4xx`);
    say(`saga paths: ${await sagaPaths(dbs)}`);
    process.stdout.write(
      `orders=${counts.orders} completed=${counts.completed} cancelled=${counts.cancelled} failed=${counts.failed} ` +
        `violations=${violations.length} seed=${seed} faults=${faults} quiesce_s=${quiesceS} databases=${databases}\n`,
    );
    if (violations.length > 0) {
      keepData = true;
      say(`kept for a post-mortem: ${Object.values(system.databaseUrls).join(' ')} (NATS store ${system.nats?.storeDir ?? '-'})`);
    }
    return violations.length === 0 ? 0 : 1;
  } finally {
    await dbs.close();
    await messaging.close();
    await system.stop({ keepData });
    for (const s of logs.values()) s.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`chaos run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
