#!/usr/bin/env node
// `npm run bench -- [--duration 30] [--connections 64] [--threads 2] [--databases sqlite|postgres]
// [--success-rate 0.9] [--drain-timeout 600] [--profile] [--gateway-only]`: starts a fresh TestSystem, drives
// POST /orders through the gateway with wrk, reports each process's CPU, waits until every
// accepted order has settled and checks DESIGN.md's invariants on what the load left behind.
// Then it measures the gateway beside nginx on GET /inventory/:id (alone with --gateway-only).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TERMINAL_ORDER_STATUSES } from '@shopflow/contracts';
import { Role } from '@shopflow/contracts/api';
import { SERVICE_NAMES } from '@shopflow/platform/config';
import { createLogger } from '@shopflow/platform/logger';
import { connectMessaging, type Messaging } from '@shopflow/platform/messaging';
import {
  busyCores,
  cpuWindow,
  machineTicks,
  postgresPids,
  snapshot,
  type Snapshot,
  type Targets,
} from '../bench/cpu-accounting.js';
import { profilerEnv, summariseProfile, toggleProfilers } from '../bench/cpu-profiles.js';
import { benchEdge, nginxInstalled } from '../bench/edge.js';
import { checkLoad, runWrk, wrkInstalled } from '../bench/load-driver.js';
import { countOrders, lastOrderChange, settled, total, waitQuiet } from '../bench/system-state.js';
import { SystemDatabases, checkInvariants } from '../chaos/invariants.js';
import { TestSystem } from '../system.js';

const PRODUCTS = Array.from({ length: 8 }, (_, i) => `BENCH-${i + 1}`);
const STOCK = 1_000_000_000;
const say = (text: string) => process.stdout.write(`${text}\n`);

interface Options {
  duration: number;
  connections: number;
  threads: number;
  databases: 'sqlite' | 'postgres';
  successRate: number;
  drainTimeoutS: number;
  profile: boolean;
  gatewayOnly: boolean;
}

function readOptions(): Options {
  const { values: v } = parseArgs({
    options: {
      duration: { type: 'string', default: '30' },
      connections: { type: 'string', default: '64' },
      threads: { type: 'string', default: '2' },
      databases: { type: 'string', default: 'sqlite' },
      'success-rate': { type: 'string', default: '0.9' },
      'drain-timeout': { type: 'string', default: '600' },
      profile: { type: 'boolean', default: false },
      'gateway-only': { type: 'boolean', default: false },
    },
  });
  const num = (name: string, raw: string, min: number, max = Infinity) => {
    const n = Number(raw);
    if (!(n >= min && n <= max)) throw new Error(`--${name} ${raw} is not a number in [${min}, ${max}]`);
    return n;
  };
  if (v.databases !== 'sqlite' && v.databases !== 'postgres') throw new Error('--databases is sqlite or postgres');
  const connections = num('connections', v.connections, 1);
  return {
    duration: num('duration', v.duration, 1),
    connections,
    // wrk needs at least one connection per thread.
    threads: Math.min(num('threads', v.threads, 1), connections),
    databases: v.databases,
    successRate: num('success-rate', v['success-rate'], 0, 1),
    drainTimeoutS: num('drain-timeout', v['drain-timeout'], 1),
    profile: v.profile,
    gatewayOnly: v['gateway-only'],
  };
}

/**
 * Prints each label's average cores used between two snapshots, busiest first, and how long its
 * main thread waited for a CPU (per second). With `orders`, also the CPU each one spent per order
 * and the rate the whole machine's CPU could sustain.
 */
function printCpu(title: string, a: Snapshot, b: Snapshot, orders?: number): void {
  const w = cpuWindow(a, b, orders);
  const line = (label: string, used: number, note: string) =>
    say(
      `  ${label.padEnd(24)} ${used.toFixed(2).padStart(5)} cores${orders ? `  ${w.msPerOrder(used).toFixed(2).padStart(5)} ms/order` : ''}  ${note}`,
    );
  say(
    `\nCPU ${title} (${w.seconds.toFixed(1)} s window, ${w.cpus} cores; 1.00 = one core saturated; "waited" = main thread runnable without a CPU, s/s)`,
  );
  for (const r of w.rows) line(r.label, r.cores, `waited ${r.waited.toFixed(2)}  ${'#'.repeat(Math.round(r.cores * 20))}`);
  line('not listed above', w.unlisted, '(kernel threads, interrupts, other processes)');
  line('machine, all processes', w.machine, `(${((w.machine / w.cpus) * 100).toFixed(0)}% busy)`);
  if (orders) {
    // CPU is the only resource that cannot be tuned away on a fixed machine: this bounds any setting.
    const ceiling = (w.cpus * 1000) / w.msPerOrder(w.machine);
    say(
      `  at ${w.msPerOrder(w.machine).toFixed(2)} ms of CPU per order, ${w.cpus} fully busy cores would settle at most ${ceiling.toFixed(0)} orders/s`,
    );
  }
}

function printProfile(name: string, file: string): void {
  const p = summariseProfile(file);
  const rows = (list: [string, number][]) => list.map(([k, pct]) => `    ${pct.toFixed(1).padStart(5)}%  ${k}`);
  say(`\n${name}: ${p.busyShare.toFixed(0)}% of samples busy; self samples by origin, then by function (% of busy)`);
  for (const line of rows(p.origins)) say(line);
  say('    ---');
  for (const line of rows(p.functions)) say(line);
}

/** Creates the bench's products, then settles one order per product so caches and pools are warm. */
async function prepare(system: TestSystem, dbs: SystemDatabases, messaging: Messaging): Promise<number> {
  const gw = system.gatewayUrl;
  const admin = await system.authorization('bench-operator', Role.Admin);
  const primer = await system.authorization('BENCH-PRIMER');
  const send = async (url: string, method: string, body: unknown) =>
    (
      await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', ...(method === 'PUT' ? admin : primer) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      })
    ).status;
  for (const id of PRODUCTS) {
    const status = await send(`${gw}/inventory/${id}`, 'PUT', { product_name: `Bench ${id}`, available_quantity: STOCK });
    if (status !== 201 && status !== 200) throw new Error(`PUT /inventory/${id} answered ${status}`);
  }
  // The load should start from a quiet system with every connection pool and the order service's product cache warm.
  for (const id of PRODUCTS) {
    const status = await send(`${gw}/orders`, 'POST', {
      customer_id: 'BENCH-PRIMER',
      product_id: id,
      quantity: 1,
      amount: 19.99,
    });
    if (status !== 201) throw new Error(`priming order for ${id} answered ${status}`);
  }
  const before = await waitQuiet(dbs, messaging, 60);
  if (!before.quiet) throw new Error(`the priming orders did not settle: ${before.detail}`);
  return total(await countOrders(dbs));
}

async function main(): Promise<number> {
  const o = readOptions();
  if (!wrkInstalled()) {
    say('install wrk: sudo apt-get install -y wrk');
    return 1;
  }
  // A CPU benchmark on a shared machine measures the neighbours too: say so before it starts.
  const idleFrom = machineTicks();
  await new Promise((r) => setTimeout(r, 1000));
  const alreadyBusy = busyCores(idleFrom, machineTicks());
  if (alreadyBusy > 0.2)
    say(
      `bench: WARNING the machine is already ${alreadyBusy.toFixed(2)} cores busy before the bench starts; figures will be low`,
    );
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logPath = path.join(os.tmpdir(), `shopflow-bench-${stamp}.log`);
  const log = fs.createWriteStream(logPath);
  // The rate limit stays on, as in production, but high enough that one load generator is never limited.
  let env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    PAYMENT_SUCCESS_RATE: String(o.successRate),
    GATEWAY_RATE_LIMIT: '1000000',
  };
  let profileDir: string | undefined;
  if (o.profile) {
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-bench-profile-'));
    env = { ...env, ...profilerEnv(profileDir, process.env.NODE_OPTIONS) };
  }
  say(
    `bench: ${o.duration} s, ${o.connections} connections, ${o.threads} wrk threads, ${o.databases}, PAYMENT_SUCCESS_RATE=${o.successRate}`,
  );
  say(`bench: service logs in ${logPath}`);

  const system = await TestSystem.start({ databases: o.databases, env, sink: (name, line) => log.write(`[${name}] ${line}\n`) });
  if (o.gatewayOnly) {
    try {
      return await edge(system, o);
    } finally {
      await system.stop();
      log.end();
    }
  }
  const closers: (() => Promise<void>)[] = [];
  let wrkPid: number | undefined;
  const stopAll = async () => {
    if (wrkPid) process.kill(wrkPid);
    for (const close of closers) await close().catch(() => undefined);
    await system.stop();
    log.end();
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  try {
    const dbs = await SystemDatabases.open(system.databaseUrls);
    closers.push(() => dbs.close());
    const messaging = await connectMessaging(system.natsUrl, 'shopflow-bench', createLogger('bench', 'silent'), system.natsAdmin);
    closers.push(() => messaging.close());
    const gw = system.gatewayUrl;
    const baseline = await prepare(system, dbs, messaging);
    // Customers with tokens of their own: each order is placed by the customer it is for.
    const customers = await Promise.all(
      Array.from({ length: 64 }, async (_, i) => ({ id: `BENCH-C${i + 1}`, token: await system.token(`BENCH-C${i + 1}`) })),
    );
    const servicePids = Object.fromEntries(SERVICE_NAMES.map((s) => [s, system.services[s].pid]));

    const targets: Targets = () => {
      const t = new Map<string, number[]>();
      for (const s of SERVICE_NAMES) t.set(s, [system.services[s].pid ?? -1]);
      t.set('nats-server', [system.nats?.pid ?? -1]);
      if (o.databases === 'postgres') t.set('postgres (all processes)', postgresPids());
      if (wrkPid) t.set('wrk', [wrkPid]);
      t.set('bench (this process)', [process.pid]);
      return t;
    };

    say(`bench: ${PRODUCTS.length} products with ${STOCK} each, ${baseline} priming orders settled; load starts`);
    if (o.profile) toggleProfilers(Object.values(servicePids));
    let first: Snapshot | undefined;
    let last: Snapshot | undefined;
    let ticks = 0;
    const loadStart = Date.now();
    const { summary: w, report } = await runWrk(
      { ...o, products: PRODUCTS, customers },
      gw,
      (pid) => {
        wrkPid = pid;
        first = last = snapshot(targets);
      },
      () => {
        // The last snapshot is taken while wrk still runs: an exited process's /proc entry is gone.
        last = snapshot(targets);
        if (++ticks % 5 === 0) {
          void countOrders(dbs).then(
            (r) =>
              say(
                `  t=${ticks}s accepted=${total(r) - baseline} settled=${settled(r) - baseline} backlog=${total(r) - settled(r)}`,
              ),
            () => undefined,
          );
        }
      },
    );
    const loadEnd = Date.now();
    if (o.profile) toggleProfilers(Object.values(servicePids));
    wrkPid = undefined;
    const atEnd = await countOrders(dbs);
    say(`\nwrk:\n${report.replace(/^/gm, '  ')}`);
    if (first && last && last.at > first.at) printCpu('during load', first, last);

    say('\nbench: load over; waiting for every order to settle');
    const drainFrom = snapshot(targets);
    const drained = await waitQuiet(dbs, messaging, o.drainTimeoutS, (s, t) =>
      say(
        `  drain t=${t.toFixed(0)}s settled=${settled(s.orders) - baseline}/${total(s.orders) - baseline} sagas running=${s.sagas.RUNNING ?? 0}`,
      ),
    );
    const final = await countOrders(dbs);
    const drainTo = snapshot(targets);
    if (drainTo.at - drainFrom.at > 2000) printCpu('while draining', drainFrom, drainTo);
    if (first)
      printCpu('per order, from the start of the load until every order settled', first, drainTo, total(final) - baseline);

    // ---- figures ----
    const loadS = w.durationUs / 1e6 || (loadEnd - loadStart) / 1000;
    const accepted = total(final) - baseline;
    const drainS = Math.max(0, ((await lastOrderChange(dbs)) - loadEnd) / 1000) || 0;
    const acceptedRps = accepted / loadS;
    const settledRps = accepted / (loadS + drainS);
    const ms = (us: number) => (us / 1000).toFixed(1);
    say('\nresults');
    say(
      `  wrk requests ${w.requests} in ${loadS.toFixed(1)} s: ${w.created} answered 201, ${w.non201} other (${w.statuses}), errors connect/read/write/timeout ${w.connectErrors}/${w.readErrors}/${w.writeErrors}/${w.timeouts}`,
    );
    say(`  latency ms: p50 ${ms(w.p50Us)}  p90 ${ms(w.p90Us)}  p99 ${ms(w.p99Us)}  max ${ms(w.maxUs)}  mean ${ms(w.meanUs)}`);
    say(`  orders accepted ${accepted}  (${acceptedRps.toFixed(1)}/s)`);
    say(
      `  settled while the load ran ${settled(atEnd) - baseline}  (${((settled(atEnd) - baseline) / loadS).toFixed(1)}/s); backlog at the end ${total(atEnd) - settled(atEnd)}`,
    );
    say(`  drain: last order settled ${drainS.toFixed(1)} s after the load ended`);
    say(`  end-to-end settled ${settledRps.toFixed(1)} orders/s`);
    say(
      `  orders: ${TERMINAL_ORDER_STATUSES.map((s) => `${s} ${final[s] ?? 0}`).join('  ')}  (with the ${baseline} priming orders)`,
    );

    const violations = checkLoad(w, accepted, o.connections);
    if (!drained.quiet) violations.push(`not quiet after ${o.drainTimeoutS} s: ${drained.detail}`);
    // wrk counts its 201s but cannot name the orders, so checkLoad compares counts and this checks every stored order.
    const initialStock = new Map(PRODUCTS.map((id) => [id, STOCK]));
    violations.push(...(await checkInvariants(dbs, messaging, new Map(), initialStock)).violations);
    for (const s of SERVICE_NAMES)
      if (system.services[s].pid !== servicePids[s]) violations.push(`${s} restarted during the run`);
    say(`\ninvariants: ${violations.length === 0 ? 'all hold' : `${violations.length} violated`}`);
    // A stuck drain yields a violation per order: the first ones tell the story.
    for (const v of violations.slice(0, 50)) say(`  VIOLATION ${v}`);
    if (violations.length > 50) say(`  … and ${violations.length - 50} more`);

    if (profileDir) {
      for (const s of SERVICE_NAMES) {
        const file = path.join(profileDir, `${servicePids[s]}.cpuprofile`);
        if (fs.existsSync(file)) printProfile(s, file);
      }
      say(`\nbench: CPU profiles of the load window in ${profileDir} (open them in Chrome DevTools)`);
    }
    say(
      `\nbench accepted_rps=${acceptedRps.toFixed(1)} settled_rps=${settledRps.toFixed(1)} p99_ms=${(w.p99Us / 1000).toFixed(1)} drain_s=${drainS.toFixed(1)} violations=${violations.length}`,
    );
    const edgeCode = await edge(system, o);
    return violations.length === 0 ? edgeCode : 1;
  } finally {
    await stopAll();
  }
}

/** The gateway beside nginx on the catalog read; non-zero when a request failed (a 429 included). */
async function edge(system: TestSystem, o: Options): Promise<number> {
  if (!nginxInstalled()) {
    say('\nedge: nginx not found (apt-get install -y nginx): gateway vs nginx skipped');
    return 0;
  }
  const load = { duration: o.duration, connections: o.connections, threads: o.threads };
  const r = await benchEdge(system.gatewayUrl, system.url('inventory'), 'PROD001', load, say);
  say(
    `\nbench edge_gateway_rps=${r.gateway.rps.toFixed(0)} edge_nginx_rps=${r.nginx.rps.toFixed(0)} edge_ratio=${r.ratio.toFixed(2)}`,
  );
  return r.gateway.failures + r.nginx.failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
