// One level of the orders load: wrk POSTs orders through the gateway for a while, then the bench
// waits until every accepted order has settled, and reads from the services' databases what was
// accepted and settled, when, and at what CPU cost.
import { TERMINAL_ORDER_STATUSES } from '@shopflow/contracts';
import type { Messaging } from '@shopflow/platform/messaging';
import type { SystemDatabases } from '../chaos/invariants.js';
import { cpuWindow, snapshot, type CpuWindow, type Snapshot, type Targets } from './cpu-accounting.js';
import { quantile } from './closed-loop.js';
import { checkLoad, runWrk } from './load-driver.js';
import { countOrders, lastOrderChange, settled, total, waitQuiet } from './system-state.js';

type Say = (line: string) => void;

/** What a level runs against: the system's databases and NATS, the gateway, who orders what. */
export interface OrdersContext {
  dbs: SystemDatabases;
  messaging: Messaging;
  gatewayUrl: string;
  products: readonly string[];
  customers: readonly { id: string; token: string }[];
  /** The processes whose CPU is accounted for, given wrk's pid while it runs. */
  targets: (wrkPid: number | undefined) => ReturnType<Targets>;
  say: Say;
}

/** How hard and how long one level pushes, and how long its drain may take. */
export interface OrdersLevel {
  connections: number;
  threads: number;
  /** Seconds. */
  duration: number;
  drainTimeoutS: number;
}

/** The CPU the machine spent per settled order, from the start of the load until the last order settled. */
export interface CpuFigures {
  cpus: number;
  /** Whole machine, milliseconds of CPU per order: the neighbours' share of a shared machine included. */
  msPerOrder: number;
  /** What the machine's cores could settle at that cost, fully busy. */
  ceilingRps: number;
  /** The watched processes only (services, nats-server, PostgreSQL, wrk, the bench): steadier on a shared machine. */
  ownMsPerOrder: number;
  /** Milliseconds of CPU per order by process label. */
  byProcess: Record<string, number>;
  /** Cores that processes outside the system used meanwhile (and the kernel): on a shared machine, the neighbours. */
  othersCores: number;
}

/** One level's figures. Rates are per second of load; latencies in milliseconds. */
export interface OrdersFigures {
  connections: number;
  loadS: number;
  /** Requests wrk sent, and how many were answered 201. */
  requests: number;
  created: number;
  /** Answers 503 with Retry-After: refused past capacity by admission control. */
  refused: number;
  /** Orders stored by the level (a few may be in flight beyond the 201s when wrk stops). */
  accepted: number;
  acceptedRps: number;
  /** Orders of the level terminal when the load stopped. */
  settledDuringLoad: number;
  settledDuringLoadRps: number;
  /** settledDuringLoad ÷ accepted: below 1, the intake outruns the saga (the issue's starvation ratio). */
  settledDuringLoadShare: number;
  backlogAtEnd: number;
  /** Seconds from the end of the load until the last order settled. */
  drainS: number;
  /** End to end: accepted ÷ (load + drain). */
  settledRps: number;
  /** POST /orders as wrk saw it. */
  httpMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** From an order's created_at to its terminal updated_at, over the level's orders. */
  placeToTerminalMs: { p50: number; p99: number; max: number };
  cpu?: CpuFigures;
}

/** What settle latency each order of the level had, from the order database's timestamps. */
async function placeToTerminal(dbs: SystemDatabases, sinceMs: number): Promise<OrdersFigures['placeToTerminalMs']> {
  const terminal = TERMINAL_ORDER_STATUSES.map((s) => `'${s}'`).join(',');
  const rows = await dbs
    .get('order')
    .query<{ created_at: string; updated_at: string }>(
      `SELECT created_at, updated_at FROM orders WHERE created_at >= $1 AND status IN (${terminal})`,
      [new Date(sinceMs).toISOString()],
    );
  const ms = rows.map((r) => Date.parse(r.updated_at) - Date.parse(r.created_at));
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), max: quantile(ms, 1) };
}

/**
 * Prints each label's average cores used between two snapshots, busiest first, and how long its
 * main thread waited for a CPU (per second). With `orders`, also the CPU each one spent per order
 * and the rate the whole machine's CPU could sustain, which it returns.
 */
function printCpu(say: Say, title: string, a: Snapshot, b: Snapshot, orders?: number): CpuFigures | undefined {
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
  if (!orders) return undefined;
  const cpu = cpuFigures(w);
  // CPU is the only resource that cannot be tuned away on a fixed machine: this bounds any setting.
  say(
    `  at ${cpu.msPerOrder.toFixed(2)} ms of CPU per order, ${w.cpus} fully busy cores would settle at most ${cpu.ceilingRps.toFixed(0)} orders/s`,
  );
  say(`  the system's own processes: ${cpu.ownMsPerOrder.toFixed(2)} ms of CPU per order`);
  return cpu;
}

/** A window's CPU per order, for the results. */
function cpuFigures(w: CpuWindow): CpuFigures {
  const msPerOrder = w.msPerOrder(w.machine);
  return {
    cpus: w.cpus,
    msPerOrder,
    ceilingRps: (w.cpus * 1000) / msPerOrder,
    ownMsPerOrder: w.msPerOrder(w.rows.reduce((sum, r) => sum + r.cores, 0)),
    byProcess: Object.fromEntries(w.rows.map((r) => [r.label, w.msPerOrder(r.cores)])),
    othersCores: w.unlisted,
  };
}

/**
 * Runs one level on a quiet system and waits until it is quiet again. `verbose` prints progress,
 * wrk's report, the CPU tables and the results; otherwise one line. `around` is told when the load
 * starts and stops (the profiler's toggle). Violations: what the load and the drain must show.
 */
export async function runOrders(
  ctx: OrdersContext,
  level: OrdersLevel,
  { verbose = true, around }: { verbose?: boolean; around?: () => void } = {},
): Promise<{ figures: OrdersFigures; violations: string[] }> {
  const { dbs, say } = ctx;
  const before = await countOrders(dbs);
  const baseline = total(before);
  const settledBefore = settled(before);
  let wrkPid: number | undefined;
  const targets: Targets = () => ctx.targets(wrkPid);
  let first: Snapshot | undefined;
  let last: Snapshot | undefined;
  let ticks = 0;
  around?.();
  const loadStart = Date.now();
  const { summary: w, report } = await runWrk(
    { ...level, products: ctx.products, customers: ctx.customers },
    ctx.gatewayUrl,
    (pid) => {
      wrkPid = pid;
      first = last = snapshot(targets);
    },
    () => {
      // The last snapshot is taken while wrk still runs: an exited process's /proc entry is gone.
      last = snapshot(targets);
      if (verbose && ++ticks % 5 === 0) {
        void countOrders(dbs).then(
          (r) =>
            say(
              `  t=${ticks}s accepted=${total(r) - baseline} settled=${settled(r) - settledBefore} backlog=${total(r) - settled(r)}`,
            ),
          () => undefined,
        );
      }
    },
  );
  const loadEnd = Date.now();
  around?.();
  wrkPid = undefined;
  const atEnd = await countOrders(dbs);
  if (verbose) {
    say(`\nwrk:\n${report.replace(/^/gm, '  ')}`);
    if (first && last && last.at > first.at) printCpu(say, 'during load', first, last);
    say('\nbench: load over; waiting for every order to settle');
  }
  const drainFrom = snapshot(targets);
  const drained = await waitQuiet(dbs, ctx.messaging, level.drainTimeoutS, (s, t) => {
    if (verbose)
      say(
        `  drain t=${t.toFixed(0)}s settled=${settled(s.orders) - settledBefore}/${total(s.orders) - baseline} sagas running=${s.sagas.RUNNING ?? 0}`,
      );
  });
  const final = await countOrders(dbs);
  const drainTo = snapshot(targets);
  const accepted = total(final) - baseline;
  let cpu: CpuFigures | undefined;
  if (verbose) {
    if (drainTo.at - drainFrom.at > 2000) printCpu(say, 'while draining', drainFrom, drainTo);
    if (first) cpu = printCpu(say, 'per order, from the start of the load until every order settled', first, drainTo, accepted);
  } else if (first && accepted > 0) {
    cpu = cpuFigures(cpuWindow(first, drainTo, accepted));
  }

  const loadS = w.durationUs / 1e6 || (loadEnd - loadStart) / 1000;
  const drainS = Math.max(0, ((await lastOrderChange(dbs)) - loadEnd) / 1000) || 0;
  const settledDuringLoad = settled(atEnd) - settledBefore;
  const figures: OrdersFigures = {
    connections: level.connections,
    loadS,
    requests: w.requests,
    created: w.created,
    refused: w.refused,
    accepted,
    acceptedRps: accepted / loadS,
    settledDuringLoad,
    settledDuringLoadRps: settledDuringLoad / loadS,
    settledDuringLoadShare: accepted > 0 ? settledDuringLoad / accepted : NaN,
    backlogAtEnd: total(atEnd) - settled(atEnd),
    drainS,
    settledRps: accepted / (loadS + drainS),
    httpMs: { p50: w.p50Us / 1000, p90: w.p90Us / 1000, p99: w.p99Us / 1000, max: w.maxUs / 1000, mean: w.meanUs / 1000 },
    placeToTerminalMs: await placeToTerminal(dbs, loadStart),
    cpu,
  };
  const violations = checkLoad(w, accepted, level.connections);
  if (!drained.quiet) violations.push(`not quiet after ${level.drainTimeoutS} s: ${drained.detail}`);

  const f = figures;
  if (verbose) {
    const ms = (v: number) => v.toFixed(1);
    say('\nresults');
    say(
      `  wrk requests ${w.requests} in ${loadS.toFixed(1)} s: ${w.created} answered 201, ${w.refused} refused (503 + Retry-After), ${w.non201} other (${w.statuses}), errors connect/read/write/timeout ${w.connectErrors}/${w.readErrors}/${w.writeErrors}/${w.timeouts}`,
    );
    say(
      `  POST /orders latency ms: p50 ${ms(f.httpMs.p50)}  p90 ${ms(f.httpMs.p90)}  p99 ${ms(f.httpMs.p99)}  max ${ms(f.httpMs.max)}  mean ${ms(f.httpMs.mean)}`,
    );
    say(
      `  place → terminal ms: p50 ${ms(f.placeToTerminalMs.p50)}  p99 ${ms(f.placeToTerminalMs.p99)}  max ${ms(f.placeToTerminalMs.max)}`,
    );
    say(`  orders accepted ${accepted}  (${f.acceptedRps.toFixed(1)}/s)`);
    say(
      `  settled while the load ran ${settledDuringLoad}  (${f.settledDuringLoadRps.toFixed(1)}/s, ${f.settledDuringLoadShare.toFixed(2)} of accepted); backlog at the end ${f.backlogAtEnd}`,
    );
    say(`  drain: last order settled ${drainS.toFixed(1)} s after the load ended`);
    say(`  end-to-end settled ${f.settledRps.toFixed(1)} orders/s`);
    say(`  orders: ${TERMINAL_ORDER_STATUSES.map((s) => `${s} ${final[s] ?? 0}`).join('  ')}  (all orders so far)`);
  } else {
    say(
      `  ${String(level.connections).padStart(4)} connections: accepted ${f.acceptedRps.toFixed(0)}/s, settled during load ${f.settledDuringLoadRps.toFixed(0)}/s, end-to-end ${f.settledRps.toFixed(0)}/s, drain ${drainS.toFixed(1)} s, p99 POST ${f.httpMs.p99.toFixed(0)} ms, p99 place→terminal ${f.placeToTerminalMs.p99.toFixed(0)} ms${violations.length ? `  (${violations.length} violations)` : ''}`,
    );
  }
  return { figures, violations };
}
