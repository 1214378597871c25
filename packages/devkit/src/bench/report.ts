// What one `npm run bench` found, as the JSON it writes to bench/results/ and the tables it
// prints: the figures of issue #10's table per database, and each of its targets with the
// measured figure and PASS or not. The verdicts inform; they never fail the run.
import type { EventPathFigures, PaymentFigures } from './components.js';
import type { EdgeRun } from './edge.js';
import type { OrdersFigures } from './orders-run.js';

export type Database = 'sqlite' | 'postgres';

/** Everything measured on one database. */
export interface DatabaseResult {
  /** The main load (--duration at --connections). */
  orders?: OrdersFigures;
  /** The load sweep (--sweep), one entry per offered load, in the order run. */
  sweep?: OrdersFigures[];
  payment?: PaymentFigures;
  events?: EventPathFigures;
  violations: string[];
}

/** The gateway beside nginx on GET /inventory/:id, on the system of `database`. */
export interface EdgeResult {
  database: Database;
  durationS: number;
  connections: number;
  gateway: EdgeRun;
  nginx: EdgeRun;
  ratio: number;
}

/** The machine a run was measured on. */
export interface Machine {
  cpus: number;
  model: string;
  memoryGiB: number;
  node: string;
  os: string;
  /** Cores already busy in the second before the bench started: other tenants of a shared machine. */
  busyCoresBefore: number;
}

/** One target of issue #10 with the figure measured for it. */
export interface TargetRow {
  name: string;
  database?: Database;
  /** null when not measured (JSON has no NaN). */
  value: number | null;
  unit: string;
  /** ≥ for ratios, < for times. */
  goal: { op: '>=' | '<'; value: number };
  verdict: 'PASS' | 'below' | 'above' | 'n/a';
}

/** The file `bench/results/<date>-<databases>.json`. */
export interface BenchResult {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  git: { commit: string; dirty: boolean } | undefined;
  options: Record<string, unknown>;
  databases: Partial<Record<Database, DatabaseResult>>;
  edge?: EdgeResult;
  targets: TargetRow[];
  /** Invariant violations over the whole run; timing never counts. */
  violations: number;
}

const DB_NAME: Record<Database, string> = { sqlite: 'embedded SQLite', postgres: 'PostgreSQL' };

function row(name: string, value: number | undefined, goal: TargetRow['goal'], unit: string, database?: Database): TargetRow {
  const measured = value !== undefined && Number.isFinite(value) ? value : null;
  let verdict: TargetRow['verdict'] = 'n/a';
  if (measured !== null) {
    const met = goal.op === '>=' ? measured >= goal.value : measured < goal.value;
    verdict = met ? 'PASS' : goal.op === '>=' ? 'below' : 'above';
  }
  return { name, ...(database ? { database } : {}), value: measured, unit, goal, verdict };
}

/** Issue #10's targets that this run measured, each with its figure and verdict. */
export function targetsOf(r: Pick<BenchResult, 'databases' | 'edge'>): TargetRow[] {
  const rows: TargetRow[] = [];
  const { sqlite, postgres } = r.databases;
  if (sqlite?.orders && postgres?.orders)
    rows.push(
      row(
        'PostgreSQL ÷ SQLite, end-to-end settled orders/s',
        postgres.orders.settledRps / sqlite.orders.settledRps,
        { op: '>=', value: 0.7 },
        '×',
      ),
    );
  for (const db of ['sqlite', 'postgres'] as const) {
    const o = r.databases[db]?.orders;
    if (!o) continue;
    rows.push(
      row(
        `settled during the load ÷ accepted (${o.connections} connections)`,
        o.settledDuringLoadShare,
        { op: '>=', value: 0.9 },
        '×',
        db,
      ),
    );
    rows.push(row('drain after the load', o.drainS, { op: '<', value: 2 }, 's', db));
  }
  if (r.edge) rows.push(row('gateway ÷ nginx, GET /inventory/:id', r.edge.ratio, { op: '>=', value: 0.7 }, '×', r.edge.database));
  for (const db of ['sqlite', 'postgres'] as const) {
    const d = r.databases[db];
    if (d?.payment)
      rows.push(
        row('payment call: saga client ÷ bare grpc-js (ProcessPayment)', d.payment.ratio, { op: '>=', value: 0.7 }, '×', db),
      );
    if (d?.events)
      rows.push(row('event path ÷ raw JetStream publish-with-ack', d.events.ratio, { op: '>=', value: 0.5 }, '×', db));
  }
  return rows;
}

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A Markdown table of the targets, to print and to paste into docs/performance.md. */
export function formatTargets(rows: readonly TargetRow[]): string[] {
  const lines = ['| target | database | measured | goal | verdict |', '|---|---|---|---|---|'];
  for (const t of rows) {
    const digits = t.unit === 's' ? 1 : 2;
    lines.push(
      `| ${t.name} | ${t.database ? DB_NAME[t.database] : 'both'} | ${fmt(t.value, digits)} ${t.unit} | ${t.goal.op === '>=' ? '≥' : '<'} ${t.goal.value} ${t.unit} | ${t.verdict} |`,
    );
  }
  return lines;
}

/** A Markdown table of the figures per database, in the shape of issue #10's table. */
export function formatFigures(r: Pick<BenchResult, 'databases'>): string[] {
  const dbs = (['sqlite', 'postgres'] as const).filter((d) => r.databases[d]);
  if (dbs.length === 0) return [];
  const lines = [`| | ${dbs.map((d) => DB_NAME[d]).join(' | ')} |`, `|---|${dbs.map(() => '---|').join('')}`];
  // A row measured on no database (a part skipped) is left out.
  const add = (label: string, cell: (d: DatabaseResult) => string) => {
    const cells = dbs.map((d) => cell(r.databases[d]!));
    if (cells.some((c) => c !== '—')) lines.push(`| ${label} | ${cells.join(' | ')} |`);
  };
  const o = (f: (o: OrdersFigures) => string) => (d: DatabaseResult) => (d.orders ? f(d.orders) : '—');
  add(
    'accepted orders/s',
    o((x) => fmt(x.acceptedRps)),
  );
  add(
    'refused (503 + Retry-After)/s',
    o((x) => fmt((x.refused ?? 0) / x.loadS)),
  );
  add(
    'settled orders/s **during** the load',
    o((x) => fmt(x.settledDuringLoadRps)),
  );
  add(
    'backlog when the load stopped, and drain time',
    o((x) => `${fmt(x.backlogAtEnd)} orders, ${fmt(x.drainS, 1)} s`),
  );
  add(
    'end-to-end settled orders/s',
    o((x) => fmt(x.settledRps)),
  );
  add(
    'CPU per order, whole machine',
    o((x) => (x.cpu ? `${fmt(x.cpu.msPerOrder, 2)} ms` : '—')),
  );
  add(
    "CPU per order, the system's own processes",
    o((x) => (x.cpu?.ownMsPerOrder !== undefined ? `${fmt(x.cpu.ownMsPerOrder, 2)} ms` : '—')),
  );
  add(
    'cores used by other processes meanwhile (noise)',
    o((x) => (x.cpu ? fmt(x.cpu.othersCores, 2) : '—')),
  );
  add(
    'p99 POST /orders',
    o((x) => `${fmt(x.httpMs.p99)} ms`),
  );
  add(
    'p99 place → terminal',
    o((x) => `${fmt(x.placeToTerminalMs.p99)} ms`),
  );
  add('ProcessPayment calls/s, saga client / bare grpc-js', (d) =>
    d.payment ? `${fmt(d.payment.clientProcessPayment.rate)} / ${fmt(d.payment.bareProcessPayment.rate)}` : '—',
  );
  add('GetPayment calls/s, saga client / bare grpc-js', (d) =>
    d.payment ? `${fmt(d.payment.clientGetPayment.rate)} / ${fmt(d.payment.bareGetPayment.rate)}` : '—',
  );
  add('bare unary floor (health Check) calls/s', (d) => (d.payment ? fmt(d.payment.bareHealthCheck.rate) : '—'));
  add('events/s, outbox → consumer applied / raw publish-with-ack', (d) =>
    d.events ? `${fmt(d.events.eventPath.rate)} / ${fmt(d.events.rawPublish.rate)}` : '—',
  );
  return lines.length > 2 ? lines : [];
}

/** The sweep of each database as a Markdown table: the knee plot's numbers. */
export function formatSweep(r: Pick<BenchResult, 'databases'>): string[] {
  const lines: string[] = [];
  for (const db of ['sqlite', 'postgres'] as const) {
    const sweep = r.databases[db]?.sweep;
    if (!sweep?.length) continue;
    lines.push(
      `${DB_NAME[db]}:`,
      '',
      '| connections | accepted/s | settled/s during load | end-to-end settled/s | drain | p99 POST | p99 place → terminal |',
      '|---|---|---|---|---|---|---|',
      ...sweep.map(
        (s) =>
          `| ${s.connections} | ${fmt(s.acceptedRps)} | ${fmt(s.settledDuringLoadRps)} | ${fmt(s.settledRps)} | ${fmt(s.drainS, 1)} s | ${fmt(s.httpMs.p99)} ms | ${fmt(s.placeToTerminalMs.p99)} ms |`,
      ),
      '',
    );
  }
  return lines;
}
