#!/usr/bin/env node
// `npm run bench -- [--duration 30] [--connections 64] [--threads 2] [--databases sqlite|postgres]
// [--success-rate 0.9] [--drain-timeout 600] [--profile]`: starts a fresh TestSystem, drives
// POST /orders through the gateway with wrk, reports each process's CPU, waits until every
// accepted order has settled and checks DESIGN.md's invariants on what the load left behind.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_NAMES } from '@shopflow/platform/config';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { REPO_ROOT } from '../supervisor.js';
import { TestSystem } from '../system.js';

const PRODUCTS = Array.from({ length: 8 }, (_, i) => `BENCH-${i + 1}`);
const STOCK = 1_000_000_000;
const TERMINAL = ['COMPLETED', 'CANCELLED', 'FAILED'];
const LUA = path.join(REPO_ROOT, 'packages', 'devkit', 'bench', 'orders.lua');
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
const say = (text: string) => process.stdout.write(`${text}\n`);

// Loaded into every service with --require when --profile is given (NODE_OPTIONS cannot carry
// --cpu-prof): SIGUSR2 starts the V8 profiler, the next SIGUSR2 writes <dir>/<pid>.cpuprofile,
// so the profile covers the load window only, not start-up or shutdown.
const PROFILER = `const { Session } = require('node:inspector');
const session = new Session();
let running = false;
process.on('SIGUSR2', () => {
  if (!running) {
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.start');
    running = true;
    return;
  }
  session.post('Profiler.stop', (error, result) => {
    if (!error) require('node:fs').writeFileSync(process.env.BENCH_PROFILE_DIR + '/' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
  });
  session.disconnect();
  running = false;
});
`;

interface Options {
  duration: number;
  connections: number;
  threads: number;
  databases: 'sqlite' | 'postgres';
  successRate: number;
  drainTimeoutS: number;
  profile: boolean;
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
  };
}

// ---- CPU accounting from /proc ----

/** utime + stime of a process (all its threads) in clock ticks; undefined once it is gone. */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: count fields from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Nanoseconds the process's main thread (a service's event loop) was runnable but waited for a CPU. */
function runQueueWait(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}

/** Every PostgreSQL server process: backends come and go with the services' pools. */
function postgresPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && readComm(d) === 'postgres')
    .map(Number);
}

function readComm(pid: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Busy and total clock ticks of the whole machine (all CPUs), from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const [, ...rest] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const v = rest.slice(0, 8).map(Number); // user nice system idle iowait irq softirq steal
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3]! - v[4]!, total };
}

interface Snapshot {
  at: number;
  /** label → pid → CPU ticks and run-queue wait */
  procs: Map<string, Map<number, { ticks: number; waitNs: number }>>;
  machine: { busy: number; total: number };
}

type Targets = () => Map<string, number[]>;

function snapshot(targets: Targets): Snapshot {
  const procs = new Map<string, Map<number, { ticks: number; waitNs: number }>>();
  for (const [label, pids] of targets()) {
    const byPid = new Map<number, { ticks: number; waitNs: number }>();
    for (const pid of pids) {
      const ticks = cpuTicks(pid);
      if (ticks !== undefined) byPid.set(pid, { ticks, waitNs: runQueueWait(pid) });
    }
    procs.set(label, byPid);
  }
  return { at: Date.now(), procs, machine: machineTicks() };
}

/**
 * Prints each label's average cores used between two snapshots, busiest first, and how long its
 * main thread waited for a CPU (per second). With `orders`, also the CPU each one spent per order
 * and the rate the whole machine's CPU could sustain.
 */
function printCpu(title: string, a: Snapshot, b: Snapshot, orders?: number): void {
  const seconds = (b.at - a.at) / 1000;
  const rows: [string, number, number][] = [];
  for (const [label, byPid] of b.procs) {
    let ticks = 0;
    let waitNs = 0;
    for (const [pid, end] of byPid) {
      // A pid missing from the first snapshot started meanwhile, so all of its time is in the window.
      const start = a.procs.get(label)?.get(pid) ?? { ticks: 0, waitNs: 0 };
      ticks += end.ticks - start.ticks;
      waitNs += end.waitNs - start.waitNs;
    }
    rows.push([label, ticks / HZ / seconds, waitNs / 1e9 / seconds]);
  }
  rows.sort((x, y) => y[1] - x[1]);
  const cores = os.cpus().length;
  const busy = ((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * cores;
  const unlisted = Math.max(0, busy - rows.reduce((sum, [, used]) => sum + used, 0));
  const msPerOrder = (used: number) => (orders ? (used * seconds * 1000) / orders : 0);
  const line = (label: string, used: number, note: string) =>
    say(
      `  ${label.padEnd(24)} ${used.toFixed(2).padStart(5)} cores${orders ? `  ${msPerOrder(used).toFixed(2).padStart(5)} ms/order` : ''}  ${note}`,
    );
  say(
    `\nCPU ${title} (${seconds.toFixed(1)} s window, ${cores} cores; 1.00 = one core saturated; "waited" = main thread runnable without a CPU, s/s)`,
  );
  for (const [label, used, waited] of rows)
    line(label, used, `waited ${waited.toFixed(2)}  ${'#'.repeat(Math.round(used * 20))}`);
  line('not listed above', unlisted, '(kernel threads, interrupts, other processes)');
  line('machine, all processes', busy, `(${((busy / cores) * 100).toFixed(0)}% busy)`);
  if (orders) {
    // CPU is the only resource that cannot be tuned away on a fixed machine: this bounds any setting.
    const ceiling = (cores * 1000) / msPerOrder(busy);
    say(
      `  at ${msPerOrder(busy).toFixed(2)} ms of CPU per order, ${cores} fully busy cores would settle at most ${ceiling.toFixed(0)} orders/s`,
    );
  }
}

// ---- the system's state, read from the services' databases and APIs ----

interface Probes {
  orders: Db;
  payments: Db;
  notifications: Db;
  /** Databases with an outbox. */
  outboxes: Db[];
  sagaUrl: string;
}

async function countBy(db: Db, sql: string): Promise<Record<string, number>> {
  const rows = await db.query<{ k: string; n: number }>(sql);
  return Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const terminal = (r: Record<string, number>) => TERMINAL.reduce((a, s) => a + (r[s] ?? 0), 0);

async function getJson<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as T };
}

interface State {
  orders: Record<string, number>;
  sagas: Record<string, number>;
  notifications: number;
  outbox: number;
}

async function readState(p: Probes): Promise<State> {
  const orders = await countBy(p.orders, 'SELECT status AS k, COUNT(*) AS n FROM orders GROUP BY status');
  const sagas = (await getJson<{ states: Record<string, number> }>(`${p.sagaUrl}/sagas/summary`)).body.states;
  const notifications = sum(await countBy(p.notifications, "SELECT 'all' AS k, COUNT(*) AS n FROM notifications"));
  let outbox = 0;
  for (const db of p.outboxes) outbox += sum(await countBy(db, "SELECT 'all' AS k, COUNT(*) AS n FROM outbox"));
  return { orders, sagas, notifications, outbox };
}

/** Quiet: every order terminal, every saga over, one notification per order, every outbox flushed. */
function isQuiet(s: State): boolean {
  const n = sum(s.orders);
  return terminal(s.orders) === n && sum(s.sagas) === n && terminal(s.sagas) === n && s.notifications === n && s.outbox === 0;
}

async function waitQuiet(p: Probes, timeoutS: number, progress?: (s: State, elapsedS: number) => void): Promise<State> {
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    const s = await readState(p);
    if (isQuiet(s) || Date.now() - started > timeoutS * 1000) return s;
    if (progress && Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      progress(s, (lastReport - started) / 1000);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ---- wrk ----

/** Runs wrk against POST /orders, calling `tick` every second while it runs; returns its stdout. */
async function runWrk(o: Options, gatewayUrl: string, onSpawn: (pid: number) => void, tick: () => void): Promise<string> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.duration}s`, '--timeout', '30s'];
  const wrk = spawn('wrk', [...args, '-s', LUA, `${gatewayUrl}/orders`, '--', ...PRODUCTS], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  wrk.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  onSpawn(wrk.pid!);
  const timer = setInterval(tick, 1000);
  const code = await new Promise<number | null>((resolve) => wrk.once('exit', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${out}`);
  return out;
}

/** The `BENCH key=value …` line orders.lua prints in done(). */
function parseWrk(out: string): Record<string, string> {
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`no BENCH line in wrk's output:\n${out}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

// ---- CPU profiles (--profile) ----

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
}

/** Where a function lives: a package, a workspace folder, Node itself, or V8's own buckets. */
function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(services|packages)\/([^/]+)\//.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

/**
 * Prints one service's busiest origins and functions by self samples (idle excluded). Samples,
 * not time deltas: a thread that waited for a CPU would otherwise charge the wait to whatever ran next.
 */
function summariseProfile(name: string, file: string): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fns = new Map<string, number>();
  const origins = new Map<string, number>();
  const add = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  let busy = 0;
  for (const id of profile.samples) {
    const f = byId.get(id)!;
    // (idle) is the event loop waiting; a native `dispatch` is the inspector starting and stopping this profile.
    if (f.functionName === '(idle)' || (f.functionName === 'dispatch' && !f.url)) continue;
    busy++;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*\/(node_modules|services|packages)\//, '$1/')}:${f.lineNumber + 1}` : '';
    add(fns, `${f.functionName || '(anonymous)'} ${where}`.trim());
    add(origins, origin(f.url, f.functionName));
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, count]) => `    ${((count / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
  const share = ((busy / profile.samples.length) * 100).toFixed(0);
  say(`\n${name}: ${share}% of samples busy; self samples by origin, then by function (% of busy)`);
  for (const line of top(origins, 8)) say(line);
  say('    ---');
  for (const line of top(fns, 14)) say(line);
}

// ---- invariants ----

interface Outcome {
  o: Options;
  /** wrk's BENCH line */
  w: Record<string, string>;
  accepted: number;
  final: State;
  probes: Probes;
  gw: string;
}

/** DESIGN.md's invariants on a quiet system after the load; returns what is violated. */
async function checkInvariants({ o, w, accepted, final, probes, gw }: Outcome): Promise<string[]> {
  const violations: string[] = [];
  const check = (ok: boolean, what: string) => ok || violations.push(what);
  const created = Number(w.created);
  check(Number(w.non201) === 0, `${w.non201} answers were not 201 (${w.statuses})`);
  const errors = ['connect_errors', 'read_errors', 'write_errors', 'timeouts'].reduce((a, k) => a + Number(w[k]), 0);
  check(errors === 0, `${errors} socket errors or timeouts`);
  // wrk stops with up to one request per connection in flight: those orders exist without a counted 201.
  check(
    accepted >= created && accepted <= created + o.connections,
    `${accepted} orders stored for ${created} answers 201 (+ at most ${o.connections} in flight)`,
  );
  check(isQuiet(final), `not quiet after ${o.drainTimeoutS} s: ${JSON.stringify(final)}`);
  check(
    !final.sagas.RUNNING && !final.sagas.COMPENSATING,
    `sagas still RUNNING ${final.sagas.RUNNING ?? 0} / COMPENSATING ${final.sagas.COMPENSATING ?? 0}`,
  );
  check(sum(final.sagas) === sum(final.orders), `${sum(final.orders)} orders but ${sum(final.sagas)} sagas`);
  for (const s of TERMINAL)
    check(
      (final.sagas[s] ?? 0) === (final.orders[s] ?? 0),
      `${final.orders[s] ?? 0} orders ${s} but ${final.sagas[s] ?? 0} sagas`,
    );
  check(final.notifications === sum(final.orders), `${final.notifications} notifications for ${sum(final.orders)} orders`);
  const payments = await countBy(probes.payments, 'SELECT status AS k, COUNT(*) AS n FROM payments GROUP BY status');
  check(
    (payments.SUCCESS ?? 0) === (final.orders.COMPLETED ?? 0),
    `${payments.SUCCESS ?? 0} payments SUCCESS for ${final.orders.COMPLETED ?? 0} orders COMPLETED`,
  );
  const sold = await countBy(
    probes.orders,
    "SELECT product_id AS k, SUM(quantity) AS n FROM orders WHERE status = 'COMPLETED' GROUP BY product_id",
  );
  for (const id of PRODUCTS) {
    const { body: p } = await getJson<{ available_quantity: number; reserved_quantity: number; sold_quantity: number }>(
      `${gw}/inventory/${id}`,
    );
    const total = p.available_quantity + p.reserved_quantity + p.sold_quantity;
    check(
      total === STOCK,
      `${id}: available ${p.available_quantity} + reserved ${p.reserved_quantity} + sold ${p.sold_quantity} = ${total}, not ${STOCK}`,
    );
    check(p.reserved_quantity === 0, `${id}: ${p.reserved_quantity} still reserved`);
    check(p.sold_quantity === (sold[id] ?? 0), `${id}: ${p.sold_quantity} sold but completed orders hold ${sold[id] ?? 0}`);
  }
  return violations;
}

// ---- the run ----

async function main(): Promise<number> {
  const o = readOptions();
  if (spawnSync('wrk', ['-v']).error) {
    say('install wrk: sudo apt-get install -y wrk');
    return 1;
  }
  // A CPU benchmark on a shared machine measures the neighbours too: say so before it starts.
  const idleFrom = machineTicks();
  await new Promise((r) => setTimeout(r, 1000));
  const idleTo = machineTicks();
  const alreadyBusy = ((idleTo.busy - idleFrom.busy) / (idleTo.total - idleFrom.total)) * os.cpus().length;
  if (alreadyBusy > 0.2)
    say(
      `bench: WARNING the machine is already ${alreadyBusy.toFixed(2)} cores busy before the bench starts; figures will be low`,
    );
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logPath = path.join(os.tmpdir(), `shopflow-bench-${stamp}.log`);
  const log = fs.createWriteStream(logPath);
  const env: Record<string, string> = { LOG_LEVEL: 'warn', PAYMENT_SUCCESS_RATE: String(o.successRate) };
  let profileDir: string | undefined;
  if (o.profile) {
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-bench-profile-'));
    fs.writeFileSync(path.join(profileDir, 'profiler.cjs'), PROFILER);
    env.BENCH_PROFILE_DIR = profileDir;
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(profileDir, 'profiler.cjs')}`.trim();
  }
  say(
    `bench: ${o.duration} s, ${o.connections} connections, ${o.threads} wrk threads, ${o.databases}, PAYMENT_SUCCESS_RATE=${o.successRate}`,
  );
  say(`bench: service logs in ${logPath}`);

  const system = await TestSystem.start({ databases: o.databases, env, sink: (name, line) => log.write(`[${name}] ${line}\n`) });
  const dbs: Db[] = [];
  let wrkPid: number | undefined;
  const stopAll = async () => {
    if (wrkPid) process.kill(wrkPid);
    await Promise.all(dbs.map((db) => db.close().catch(() => undefined)));
    await system.stop();
    log.end();
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  try {
    const open = async (url: string) => {
      const db = await openDatabase(url);
      dbs.push(db);
      return db;
    };
    const urls = system.databaseUrls;
    const probes: Probes = {
      orders: await open(urls.order),
      payments: await open(urls.payment),
      notifications: await open(urls.notification),
      outboxes: [],
      sagaUrl: system.url('saga'),
    };
    probes.outboxes = [probes.orders, probes.payments, await open(urls.saga)];
    const gw = system.gatewayUrl;

    for (const id of PRODUCTS) {
      const res = await getJson(`${gw}/inventory/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ product_name: `Bench ${id}`, available_quantity: STOCK }),
      });
      if (res.status !== 201 && res.status !== 200) throw new Error(`PUT /inventory/${id} answered ${res.status}`);
    }
    // One order per product first, so the order service's product cache and every connection
    // pool are warm, and the load starts from a quiet system.
    for (const id of PRODUCTS) {
      const res = await getJson(`${gw}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customer_id: 'BENCH-PRIMER', product_id: id, quantity: 1, amount: 19.99 }),
      });
      if (res.status !== 201) throw new Error(`priming order for ${id} answered ${res.status}`);
    }
    const before = await waitQuiet(probes, 60);
    if (!isQuiet(before)) throw new Error(`the priming orders did not settle: ${JSON.stringify(before)}`);
    const baseline = sum(before.orders);
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
    // Toggles the profiler preloaded into every service (see PROFILER).
    const toggleProfilers = () => {
      for (const s of SERVICE_NAMES) if (servicePids[s]) process.kill(servicePids[s], 'SIGUSR2');
    };

    say(`bench: ${PRODUCTS.length} products with ${STOCK} each, ${baseline} priming orders settled; load starts`);
    if (o.profile) toggleProfilers();
    let first: Snapshot | undefined;
    let last: Snapshot | undefined;
    let ticks = 0;
    const loadStart = Date.now();
    const out = await runWrk(
      o,
      gw,
      (pid) => {
        wrkPid = pid;
        first = last = snapshot(targets);
      },
      () => {
        // The last snapshot is taken while wrk still runs: an exited process's /proc entry is gone.
        last = snapshot(targets);
        if (++ticks % 5 === 0) {
          void countBy(probes.orders, 'SELECT status AS k, COUNT(*) AS n FROM orders GROUP BY status').then(
            (r) =>
              say(
                `  t=${ticks}s accepted=${sum(r) - baseline} settled=${terminal(r) - baseline} backlog=${sum(r) - terminal(r)}`,
              ),
            () => undefined,
          );
        }
      },
    );
    const loadEnd = Date.now();
    if (o.profile) toggleProfilers();
    wrkPid = undefined;
    const atEnd = await readState(probes);
    const w = parseWrk(out);
    say(
      `\nwrk:\n${out
        .replace(/^BENCH .*\n?/m, '')
        .trimEnd()
        .replace(/^/gm, '  ')}`,
    );
    if (first && last && last.at > first.at) printCpu('during load', first, last);

    say('\nbench: load over; waiting for every order to settle');
    const drainFrom = snapshot(targets);
    const final = await waitQuiet(probes, o.drainTimeoutS, (s, t) =>
      say(
        `  drain t=${t.toFixed(0)}s settled=${terminal(s.orders) - baseline}/${sum(s.orders) - baseline} sagas running=${s.sagas.RUNNING ?? 0}`,
      ),
    );
    const drainTo = snapshot(targets);
    if (drainTo.at - drainFrom.at > 2000) printCpu('while draining', drainFrom, drainTo);
    if (first)
      printCpu('per order, from the start of the load until every order settled', first, drainTo, sum(final.orders) - baseline);

    // ---- figures ----
    const loadS = Number(w.duration_us) / 1e6 || (loadEnd - loadStart) / 1000;
    const accepted = sum(final.orders) - baseline;
    const lastSettled = (await probes.orders.query<{ at: string | null }>('SELECT MAX(updated_at) AS at FROM orders'))[0]?.at;
    const drainS = Math.max(0, (Date.parse(lastSettled ?? '') - loadEnd) / 1000) || 0;
    const acceptedRps = accepted / loadS;
    const settledRps = accepted / (loadS + drainS);
    const p99 = Number(w.p99_us) / 1000;
    const ms = (us: string | undefined) => (Number(us) / 1000).toFixed(1);
    say('\nresults');
    say(
      `  wrk requests ${w.requests} in ${loadS.toFixed(1)} s: ${w.created} answered 201, ${w.non201} other (${w.statuses}), errors connect/read/write/timeout ${w.connect_errors}/${w.read_errors}/${w.write_errors}/${w.timeouts}`,
    );
    say(
      `  latency ms: p50 ${ms(w.p50_us)}  p90 ${ms(w.p90_us)}  p99 ${ms(w.p99_us)}  max ${ms(w.max_us)}  mean ${ms(w.mean_us)}`,
    );
    say(`  orders accepted ${accepted}  (${acceptedRps.toFixed(1)}/s)`);
    say(
      `  settled while the load ran ${terminal(atEnd.orders) - baseline}  (${((terminal(atEnd.orders) - baseline) / loadS).toFixed(1)}/s); backlog at the end ${sum(atEnd.orders) - terminal(atEnd.orders)}`,
    );
    say(`  drain: last order settled ${drainS.toFixed(1)} s after the load ended`);
    say(`  end-to-end settled ${settledRps.toFixed(1)} orders/s`);
    say(`  orders: ${TERMINAL.map((s) => `${s} ${final.orders[s] ?? 0}`).join('  ')}  (with the ${baseline} priming orders)`);

    const violations = await checkInvariants({ o, w, accepted, final, probes, gw });
    for (const s of SERVICE_NAMES)
      if (system.services[s].pid !== servicePids[s]) violations.push(`${s} restarted during the run`);
    say(`\ninvariants: ${violations.length === 0 ? 'all hold' : `${violations.length} violated`}`);
    for (const v of violations) say(`  VIOLATION ${v}`);

    if (profileDir) {
      for (const s of SERVICE_NAMES) {
        const file = path.join(profileDir, `${servicePids[s]}.cpuprofile`);
        if (fs.existsSync(file)) summariseProfile(s, file);
      }
      say(`\nbench: CPU profiles of the load window in ${profileDir} (open them in Chrome DevTools)`);
    }
    say(
      `\nbench accepted_rps=${acceptedRps.toFixed(1)} settled_rps=${settledRps.toFixed(1)} p99_ms=${p99.toFixed(1)} drain_s=${drainS.toFixed(1)} violations=${violations.length}`,
    );
    return violations.length === 0 ? 0 : 1;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
