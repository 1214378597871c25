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
import {
  duplicateAndReorder,
  freeze,
  killNats,
  cutOffDatabase,
  killPostgres,
  postgresOutage,
  restartDuringNatsOutage,
  restartEachService,
  type FaultContext,
} from '../chaos/faults.js';
import { SystemDatabases, checkInvariants, quiet, sagaPaths, violationKinds } from '../chaos/invariants.js';
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
    'db-outage': { type: 'string' },
    'max-deliver': { type: 'string', default: '10' },
  },
});

const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const minutes = values.minutes ? Number(values.minutes) : 0;
const rate = Number(values.rate);
const productCount = Number(values.products);
const databases = values.databases === 'sqlite' ? 'sqlite' : 'postgres';
const ackWaitMs = 4000;
const maxDeliver = Number(values['max-deliver']);
// How long a consumer naks a failing event before it dead-letters it: consumer.ts backs off from
// 200 ms, doubling, capped at 10 s, with equal jitter (so between half of this and all of it).
const redeliveryBudgetMs = Array.from({ length: Math.max(0, maxDeliver - 1) }, (_, i) => Math.min(10_000, 200 * 2 ** i)).reduce(
  (a, b) => a + b,
  0,
);
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
    `seed=${seed} databases=${databases} rate=${rate}/s ${minutes > 0 ? `minutes=${minutes}` : 'one round'} ` +
      `max_deliver=${maxDeliver} (redelivery budget ${(redeliveryBudgetMs / 2000).toFixed(1)}–${(redeliveryBudgetMs / 1000).toFixed(1)} s) ` +
      `logs=${path.relative(process.cwd(), logDir)}`,
  );

  const system = await TestSystem.start({
    databases,
    ownPostgres: { log: (line) => sink('postgres', line) },
    sink,
    env: {
      PAYMENT_SUCCESS_RATE: values['success-rate'],
      NATS_ACK_WAIT_MS: String(ackWaitMs),
      NATS_MAX_DELIVER: String(maxDeliver),
      SAGA_STEP_TIMEOUT_MS: String(stepTimeoutMs),
      SAGA_CALL_TIMEOUT_MS: '1500',
      LOG_LEVEL: 'info',
    },
  });
  const messaging = await connectMessaging(system.natsUrl, 'shopflow-chaos', createLogger('chaos', 'silent'), system.natsAdmin);
  // Opened once the faults are over: the harness has no business with a database while it is down.
  let dbs: SystemDatabases | undefined;
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

    const ctx: FaultContext = { system, prng, say, problems: [], probeOrder: (timeoutMs) => load.probe(timeoutMs) };
    const outageMs = () => {
      const ms = values['db-outage'] ? Number(values['db-outage']) * 1000 : prng.int(45_000, 60_000);
      if (system.postgres && ms <= redeliveryBudgetMs) say(`note: a ${ms} ms outage is within the redelivery budget`);
      return ms;
    };
    let faults = 0;
    const deadline = started + minutes * 60_000;
    do {
      await new Promise((r) => setTimeout(r, 3000));
      faults += await restartEachService(ctx);
      faults += await killNats(ctx);
      faults += await restartDuringNatsOutage(ctx);
      faults += await freeze(ctx, 'payment', Math.max(ackWaitMs, stepTimeoutMs) + 3000);
      faults += await freeze(ctx, 'notification', ackWaitMs + 2000);
      faults += await duplicateAndReorder(ctx, messaging);
      faults += await killPostgres(ctx);
      faults += await postgresOutage(ctx, outageMs());
      faults += await cutOffDatabase(ctx, outageMs());
    } while (Date.now() < deadline);
    const faultsEnded = Date.now();
    dbs = await SystemDatabases.open(system.databaseUrls);
    const quietDbs = dbs;

    await new Promise((r) => setTimeout(r, 3000));
    const result = await load.stop();
    say(
      `load stopped: ${result.acknowledged.size} orders acknowledged, ${result.retries} client retries, ${result.cancelRequests} cancel requests`,
    );

    let lastDetail = '';
    let lastChange = Date.now();
    await waitFor(
      'the system to quiesce',
      async () => {
        const q = await quiet(quietDbs, messaging);
        if (q.detail !== lastDetail) {
          say(`waiting: ${(lastDetail = q.detail)}`);
          lastChange = Date.now();
        }
        // Nothing moved for this long: what is left is stuck, and the invariants will say what.
        const stalled = Date.now() - lastChange > 90_000;
        if (stalled) say(`the system stalled for 90 s at: ${q.detail}`);
        return q.quiet || stalled;
      },
      { timeoutMs: 5 * 60_000, intervalMs: 500 },
    ).catch((error: Error) => say(error.message));
    // From the last fault (the load ran on for 3 s after it) until every order, saga, outbox and consumer was settled.
    const quiesceS = ((Date.now() - faultsEnded) / 1000).toFixed(1);

    const checked = await checkInvariants(dbs, messaging, result.acknowledged, initialStock);
    const { counts } = checked;
    const violations = [...ctx.problems, ...checked.violations];
    const kinds = violationKinds(violations);
    for (const v of kinds.slice(0, 50)) say(`VIOLATION ${v}`);
    if (kinds.length > 50) say(`… and ${kinds.length - 50} more kinds`);
    if (result.rejected > 0) say(`note: ${result.rejected} order requests were refused with a 4xx`);
    say(`saga paths: ${await sagaPaths(dbs)}`);
    process.stdout.write(
      `orders=${counts.orders} completed=${counts.completed} cancelled=${counts.cancelled} failed=${counts.failed} ` +
        `violations=${violations.length} seed=${seed} faults=${faults} quiesce_s=${quiesceS} databases=${databases}\n`,
    );
    if (violations.length > 0) {
      keepData = true;
      say(`kept for a post-mortem: ${Object.values(system.databaseUrls).join(' ')} (NATS store ${system.nats?.storeDir ?? '-'})`);
      // The URLs above go through switches that end with the run: the databases are on the cluster's own port.
      if (system.postgres)
        say(`start its PostgreSQL with: ${system.postgres.startCommand()} (databases on port ${system.postgres.port})`);
    }
    return violations.length === 0 ? 0 : 1;
  } finally {
    await dbs?.close();
    await messaging.close();
    await system.stop({ keepData });
    for (const s of logs.values()) s.end();
  }
}

// Through process.exit, so the own PostgreSQL's exit hook removes it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`chaos run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
