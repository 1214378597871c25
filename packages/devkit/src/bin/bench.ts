#!/usr/bin/env node
// `npm run bench -- [--databases sqlite,postgres] [--duration 30] [--connections 64] [--threads 2]
// [--success-rate 0.9] [--drain-timeout 600] [--profile] [--sweep 16,32,64,128 [--sweep-duration 8]]
// [--component-duration 5] [--component-concurrency 64] [--skip-components] [--skip-edge]
// [--components-only] [--gateway-only] [--ci] [--results DIR]`, and `--plot RESULT.json [--out FILE.png]`.
//
// For each database in turn: starts a fresh TestSystem, drives POST /orders through the gateway
// with wrk, reports each process's CPU, waits until every accepted order has settled, optionally
// sweeps the offered load, and checks DESIGN.md's invariants on what the load left behind. Then
// it measures the components against their bare baselines (the payment call, the event path) and,
// on the first database, the gateway beside nginx. It prints issue #10's table and targets, and
// writes everything to bench/results/<date>-<databases>.json (with the knee plot beside it after a
// sweep). It fails only when the run breaks or an invariant fails, never for a timing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OtlpReceiver } from '../otlp-receiver.js';
import { Role } from '@shopflow/contracts/api';
import { SERVICE_NAMES } from '@shopflow/platform/config';
import { createLogger } from '@shopflow/platform/logger';
import { connectMessaging, type Messaging } from '@shopflow/platform/messaging';
import { busyCores, machineTicks, postgresPids } from '../bench/cpu-accounting.js';
import { profilerEnv, summariseProfile, toggleProfilers } from '../bench/cpu-profiles.js';
import { benchEventPath, benchPayment, type ComponentLoad } from '../bench/components.js';
import { benchEdge, nginxInstalled } from '../bench/edge.js';
import { wrkInstalled } from '../bench/load-driver.js';
import { runOrders, type OrdersContext } from '../bench/orders-run.js';
import { hasSweep, renderKnee } from '../bench/plot.js';
import {
  formatFigures,
  formatSweep,
  formatTargets,
  targetsOf,
  type BenchResult,
  type Database,
  type DatabaseResult,
  type EdgeResult,
} from '../bench/report.js';
import { RESULTS_DIR, gitState, machine, writeResult } from '../bench/results.js';
import { countOrders, total, waitQuiet } from '../bench/system-state.js';
import { SystemDatabases, checkInvariants } from '../chaos/invariants.js';
import { TestSystem } from '../system.js';

const PRODUCTS = Array.from({ length: 8 }, (_, i) => `BENCH-${i + 1}`);
const STOCK = 1_000_000_000;
const say = (text: string) => process.stdout.write(`${text}\n`);

interface Options {
  databases: Database[];
  duration: number;
  connections: number;
  threads: number;
  successRate: number;
  drainTimeoutS: number;
  profile: boolean;
  /** Connections of each sweep level; empty without --sweep. */
  sweep: number[];
  sweepDuration: number;
  components: ComponentLoad;
  orders: boolean;
  runComponents: boolean;
  edge: boolean;
  ci: boolean;
  /** Export spans over OTLP to a receiver of the bench's own: what tracing costs when it is on. */
  otlp: boolean;
  /** Where the JSON goes; undefined writes none (--ci without --results). */
  resultsDir: string | undefined;
}

/** Each `--ci` default: both databases, seconds of load rather than minutes; nothing is written unless asked. */
const CI_DEFAULTS = {
  databases: 'sqlite,postgres',
  duration: '3',
  connections: '16',
  'drain-timeout': '60',
  'component-duration': '0.5',
  'component-concurrency': '16',
};

function readOptions(argv: string[]): Options | { plot: string; out: string | undefined } {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      databases: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string', default: '2' },
      'success-rate': { type: 'string', default: '0.9' },
      'drain-timeout': { type: 'string' },
      profile: { type: 'boolean', default: false },
      sweep: { type: 'string' },
      'sweep-duration': { type: 'string', default: '8' },
      'component-duration': { type: 'string' },
      'component-concurrency': { type: 'string' },
      'skip-components': { type: 'boolean', default: false },
      'skip-edge': { type: 'boolean', default: false },
      'components-only': { type: 'boolean', default: false },
      'gateway-only': { type: 'boolean', default: false },
      ci: { type: 'boolean', default: false },
      otlp: { type: 'boolean', default: false },
      results: { type: 'string' },
      plot: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (v.plot !== undefined) return { plot: v.plot, out: v.out };
  const defaults = v.ci
    ? CI_DEFAULTS
    : {
        databases: 'sqlite',
        duration: '30',
        connections: '64',
        'drain-timeout': '600',
        'component-duration': '5',
        'component-concurrency': '64',
      };
  const num = (name: keyof typeof defaults | 'threads' | 'success-rate' | 'sweep-duration', min: number, max = Infinity) => {
    const raw = v[name] ?? defaults[name as keyof typeof defaults];
    const n = Number(raw);
    if (!(n >= min && n <= max)) throw new Error(`--${name} ${raw} is not a number in [${min}, ${max}]`);
    return n;
  };
  const databases = (v.databases ?? defaults.databases).split(',').map((d) => d.trim());
  for (const d of databases)
    if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--databases: ${d} is not sqlite or postgres`);
  if (new Set(databases).size !== databases.length) throw new Error('--databases names a database twice');
  const sweep = (v.sweep ?? '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--sweep: ${s} is not a number of connections`);
      return n;
    });
  if (v['gateway-only'] && v['components-only']) throw new Error('--gateway-only and --components-only exclude each other');
  const componentDuration = num('component-duration', 0.2);
  return {
    // The gateway comparison runs on the first database only: with nothing else to run, so does the system.
    databases: (v['gateway-only'] ? databases.slice(0, 1) : databases) as Database[],
    duration: num('duration', 1),
    connections: num('connections', 1),
    threads: num('threads', 1),
    successRate: num('success-rate', 0, 1),
    drainTimeoutS: num('drain-timeout', 1),
    profile: v.profile,
    sweep,
    sweepDuration: num('sweep-duration', 1),
    components: {
      concurrency: num('component-concurrency', 1),
      durationS: componentDuration,
      warmupS: Math.min(1, componentDuration / 3),
    },
    orders: !v['gateway-only'] && !v['components-only'],
    runComponents: !v['gateway-only'] && !v['skip-components'],
    // The gateway beside nginx is a timing only: the short CI run has no use for it.
    edge: !v['components-only'] && !v['skip-edge'] && (!v.ci || v['gateway-only']),
    ci: v.ci,
    otlp: v.otlp,
    resultsDir: v.results ?? (v.ci ? undefined : RESULTS_DIR),
  };
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

/** The orders load on one system: the main level, the sweep, then the invariants over all of it. */
async function ordersOn(system: TestSystem, o: Options, database: Database, result: DatabaseResult, profileDir?: string) {
  const closers: (() => Promise<void>)[] = [];
  try {
    const dbs = await SystemDatabases.open(system.databaseUrls);
    closers.push(() => dbs.close());
    const messaging = await connectMessaging(system.natsUrl, 'shopflow-bench', createLogger('bench', 'silent'), system.natsAdmin);
    closers.push(() => messaging.close());
    const baseline = await prepare(system, dbs, messaging);
    // Customers with tokens of their own: each order is placed by the customer it is for.
    const customers = await Promise.all(
      Array.from({ length: 64 }, async (_, i) => ({ id: `BENCH-C${i + 1}`, token: await system.token(`BENCH-C${i + 1}`) })),
    );
    const servicePids = Object.fromEntries(SERVICE_NAMES.map((s) => [s, system.services[s].pid]));
    const ctx: OrdersContext = {
      dbs,
      messaging,
      gatewayUrl: system.gatewayUrl,
      products: PRODUCTS,
      customers,
      say,
      targets: (wrkPid) => {
        const t = new Map<string, number[]>();
        for (const s of SERVICE_NAMES) t.set(s, [system.services[s].pid ?? -1]);
        t.set('nats-server', [system.nats?.pid ?? -1]);
        if (database === 'postgres') t.set('postgres (all processes)', postgresPids());
        if (wrkPid) t.set('wrk', [wrkPid]);
        t.set('bench (this process)', [process.pid]);
        return t;
      },
    };

    say(`bench: ${PRODUCTS.length} products with ${STOCK} each, ${baseline} priming orders settled; load starts`);
    const main = await runOrders(
      ctx,
      {
        connections: o.connections,
        threads: Math.min(o.threads, o.connections),
        duration: o.duration,
        drainTimeoutS: o.drainTimeoutS,
      },
      { around: profileDir ? () => toggleProfilers(Object.values(servicePids)) : undefined },
    );
    result.orders = main.figures;
    result.violations.push(...main.violations);
    if (o.sweep.length > 0) {
      say(`\nsweep: ${o.sweep.join(', ')} connections, ${o.sweepDuration} s each, quiet in between`);
      result.sweep = [];
      for (const connections of o.sweep) {
        const level = await runOrders(
          ctx,
          { connections, threads: Math.min(o.threads, connections), duration: o.sweepDuration, drainTimeoutS: o.drainTimeoutS },
          { verbose: false },
        );
        result.sweep.push(level.figures);
        result.violations.push(...level.violations.map((v) => `sweep ${connections}: ${v}`));
      }
    }

    // wrk counts its 201s but cannot name the orders, so checkLoad compares counts and this checks every stored order.
    const initialStock = new Map(PRODUCTS.map((id) => [id, STOCK]));
    result.violations.push(...(await checkInvariants(dbs, messaging, new Map(), initialStock)).violations);
    for (const s of SERVICE_NAMES)
      if (system.services[s].pid !== servicePids[s]) result.violations.push(`${s} restarted during the run`);
    say(`\ninvariants: ${result.violations.length === 0 ? 'all hold' : `${result.violations.length} violated`}`);
    // A stuck drain yields a violation per order: the first ones tell the story.
    for (const v of result.violations.slice(0, 50)) say(`  VIOLATION ${v}`);
    if (result.violations.length > 50) say(`  … and ${result.violations.length - 50} more`);

    if (profileDir) {
      for (const s of SERVICE_NAMES) {
        const file = path.join(profileDir, `${servicePids[s]}.cpuprofile`);
        if (fs.existsSync(file)) printProfile(s, file);
      }
      say(`\nbench: CPU profiles of the load window in ${profileDir} (open them in Chrome DevTools)`);
    }
    const f = main.figures;
    say(
      `\nbench database=${database} accepted_rps=${f.acceptedRps.toFixed(1)} settled_rps=${f.settledRps.toFixed(1)} settled_during_load_rps=${f.settledDuringLoadRps.toFixed(1)} p99_ms=${f.httpMs.p99.toFixed(1)} drain_s=${f.drainS.toFixed(1)} violations=${result.violations.length}`,
    );
  } finally {
    for (const close of closers) await close().catch(() => undefined);
  }
}

/** The payment service and the event path against their bare baselines. Run after the invariants: it writes payments for no order. */
async function componentsOn(system: TestSystem, o: Options, database: Database, result: DatabaseResult): Promise<void> {
  const violations: string[] = [];
  result.payment = await benchPayment(`127.0.0.1:${system.services.payment.port}`, o.components, say, violations);
  result.events = await benchEventPath(database, o.components, say, violations);
  for (const v of violations) say(`  VIOLATION ${v}`);
  result.violations.push(...violations);
}

/** The gateway beside nginx on the catalog read; a failed request (a 429 included) is a violation. */
async function edgeOn(system: TestSystem, o: Options, database: Database, violations: string[]): Promise<EdgeResult | undefined> {
  if (!nginxInstalled()) {
    say('\nedge: nginx not found (apt-get install -y nginx): gateway vs nginx skipped');
    return undefined;
  }
  const load = { duration: o.duration, connections: o.connections, threads: Math.min(o.threads, o.connections) };
  const r = await benchEdge(system.gatewayUrl, system.url('inventory'), 'PROD001', load, say);
  say(
    `\nbench edge_gateway_rps=${r.gateway.rps.toFixed(0)} edge_nginx_rps=${r.nginx.rps.toFixed(0)} edge_ratio=${r.ratio.toFixed(2)}`,
  );
  if (r.gateway.failures + r.nginx.failures > 0)
    violations.push(`edge: ${r.gateway.failures} gateway and ${r.nginx.failures} nginx requests failed`);
  return { database, durationS: o.duration, connections: o.connections, ...r };
}

function plot(file: string, out: string | undefined): number {
  const result = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResult;
  const png = out ?? file.replace(/\.json$/, '') + '.png';
  fs.writeFileSync(png, renderKnee(result));
  say(`bench: knee plot in ${png}`);
  return 0;
}

async function main(): Promise<number> {
  const parsed = readOptions(process.argv.slice(2));
  if ('plot' in parsed) return plot(parsed.plot, parsed.out);
  const o = parsed;
  if ((o.orders || o.edge) && !wrkInstalled()) {
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
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const logPath = path.join(os.tmpdir(), `shopflow-bench-${stamp}.log`);
  const log = fs.createWriteStream(logPath);
  // The rate limit stays on, as in production, but high enough that one load generator is never limited.
  const baseEnv: Record<string, string> = {
    LOG_LEVEL: 'warn',
    PAYMENT_SUCCESS_RATE: String(o.successRate),
    GATEWAY_RATE_LIMIT: '1000000',
  };
  // With --otlp every span is exported (protobuf over HTTP, as a collector takes it) to a receiver that counts them.
  const otlp = o.otlp ? await OtlpReceiver.start() : undefined;
  if (otlp) baseEnv.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
  say(
    `bench: ${o.databases.join(', ')}; orders ${o.orders ? `${o.duration} s at ${o.connections} connections, ${o.threads} wrk threads` : 'skipped'}${o.sweep.length ? `, sweep ${o.sweep.join('/')}` : ''}; components ${o.runComponents ? `${o.components.durationS} s each at ${o.components.concurrency}` : 'skipped'}; PAYMENT_SUCCESS_RATE=${o.successRate}${o.otlp ? ', spans exported over OTLP' : ''}${o.ci ? ' (--ci)' : ''}`,
  );
  say(`bench: service logs in ${logPath}`);

  const databases: BenchResult['databases'] = {};
  let edge: EdgeResult | undefined;
  const edgeViolations: string[] = [];
  let system: TestSystem | undefined;
  process.once('SIGINT', () => {
    void (system?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
  try {
    for (const [i, database] of o.databases.entries()) {
      let env = baseEnv;
      let profileDir: string | undefined;
      if (o.profile && o.orders) {
        profileDir = fs.mkdtempSync(path.join(os.tmpdir(), `shopflow-bench-profile-${database}-`));
        env = { ...env, ...profilerEnv(profileDir, process.env.NODE_OPTIONS) };
      }
      say(`\n==== ${database} ====`);
      system = await TestSystem.start({
        databases: database,
        env,
        sink: (name, line) => log.write(`[${database} ${name}] ${line}\n`),
      });
      const result: DatabaseResult = { violations: [] };
      databases[database] = result;
      try {
        if (o.orders) await ordersOn(system, o, database, result, profileDir);
        if (o.runComponents) await componentsOn(system, o, database, result);
        // The edge compares two proxies in front of the same inventory service: once per run is enough.
        if (o.edge && i === 0) edge = await edgeOn(system, o, database, edgeViolations);
      } finally {
        await system.stop();
        system = undefined;
      }
    }
  } finally {
    log.end();
    if (otlp) say(`bench: OTLP export on: ${otlp.exports} exports, ${(otlp.bytes / 1e6).toFixed(1)} MB of spans received`);
    await otlp?.close();
  }

  const partial = { databases, ...(edge ? { edge } : {}) };
  const targets = targetsOf(partial);
  const violations = Object.values(databases).reduce((n, d) => n + (d?.violations.length ?? 0), 0) + edgeViolations.length;
  const result: BenchResult = {
    schema: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: machine(alreadyBusy),
    git: gitState(),
    options: { ...o, resultsDir: undefined },
    ...partial,
    targets,
    violations,
  };
  const figures = formatFigures(result);
  if (figures.length) say('\n==== figures ====\n');
  for (const line of figures) say(line);
  const sweep = formatSweep(result);
  if (sweep.length) {
    say('\nsweep:\n');
    for (const line of sweep) say(line);
  }
  say('\n==== targets (issue #10; informational, a timing never fails the run) ====\n');
  for (const line of formatTargets(targets)) say(line);
  if (o.resultsDir) {
    const file = writeResult(o.resultsDir, result, o.databases);
    say(`\nbench: results in ${path.relative(process.cwd(), file)}`);
    if (hasSweep(result)) plot(file, undefined);
  }
  say(`\nbench: ${violations === 0 ? 'every invariant held' : `${violations} invariant violations`}`);
  return violations === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
