import { describe, expect, it } from 'vitest';
import type { OrdersFigures } from './orders-run.js';
import { formatFigures, formatTargets, targetsOf, type BenchResult } from './report.js';

const orders = (o: Partial<OrdersFigures>): OrdersFigures => ({
  connections: 64,
  loadS: 20,
  requests: 20_000,
  created: 20_000,
  refused: 0,
  accepted: 20_000,
  acceptedRps: 1000,
  settledDuringLoad: 19_000,
  settledDuringLoadRps: 950,
  settledDuringLoadShare: 0.95,
  backlogAtEnd: 1000,
  drainS: 1,
  settledRps: 952,
  httpMs: { p50: 10, p90: 20, p99: 40, max: 80, mean: 12 },
  placeToTerminalMs: { p50: 100, p99: 400, max: 900 },
  ...o,
});
const loop = (rate: number) => ({ ops: rate, errors: 0, firstError: undefined, seconds: 1, rate, p50Ms: 1, p99Ms: 2 });

const result: Pick<BenchResult, 'databases' | 'edge'> = {
  databases: {
    sqlite: {
      orders: orders({
        cpu: { cpus: 2, msPerOrder: 1.68, ceilingRps: 1190, ownMsPerOrder: 1.5, byProcess: {}, othersCores: 0.1 },
      }),
      payment: {
        clientProcessPayment: loop(700),
        bareProcessPayment: loop(1000),
        clientGetPayment: loop(2000),
        bareGetPayment: loop(3000),
        bareHealthCheck: loop(5000),
        ratio: 0.7,
        ratioToFloor: 0.14,
      },
      events: { eventPath: loop(100), rawPublish: loop(1000), ratio: 0.1, enqueued: 120, applied: 120 },
      violations: [],
    },
    postgres: {
      orders: orders({ settledRps: 253, settledDuringLoadShare: 46 / 736, drainS: 38, backlogAtEnd: 13_793 }),
      violations: [],
    },
  },
  edge: {
    database: 'sqlite',
    durationS: 20,
    connections: 64,
    gateway: { rps: 4100, failures: 0, p99Ms: 30 },
    nginx: { rps: 10_000, failures: 0, p99Ms: 10 },
    ratio: 0.41,
  },
};

describe('targetsOf', () => {
  it("gives each of issue #10's targets its figure, with PASS, below or above", () => {
    const rows = targetsOf(result).map((t) => [
      t.name,
      t.database ?? 'both',
      t.value === null ? null : Number(t.value.toFixed(3)),
      t.verdict,
    ]);
    expect(rows).toEqual([
      ['PostgreSQL ÷ SQLite, end-to-end settled orders/s', 'both', 0.266, 'below'],
      ['settled during the load ÷ accepted (64 connections)', 'sqlite', 0.95, 'PASS'],
      ['drain after the load', 'sqlite', 1, 'PASS'],
      ['settled during the load ÷ accepted (64 connections)', 'postgres', 0.063, 'below'],
      ['drain after the load', 'postgres', 38, 'above'],
      ['gateway ÷ nginx, GET /inventory/:id', 'sqlite', 0.41, 'below'],
      ['payment call: saga client ÷ bare grpc-js (ProcessPayment)', 'sqlite', 0.7, 'PASS'],
      ['event path ÷ raw JetStream publish-with-ack', 'sqlite', 0.1, 'below'],
    ]);
  });

  it('leaves out what was not measured, and marks a figure that is not a number n/a', () => {
    expect(targetsOf({ databases: { sqlite: { violations: [] } } })).toEqual([]);
    const [share] = targetsOf({ databases: { sqlite: { orders: orders({ settledDuringLoadShare: NaN }), violations: [] } } });
    expect(share).toMatchObject({ value: null, verdict: 'n/a' });
  });
});

describe('the tables', () => {
  it('print the targets with goal and verdict', () => {
    const lines = formatTargets(targetsOf(result));
    expect(lines[0]).toBe('| target | database | measured | goal | verdict |');
    expect(lines).toContain('| drain after the load | PostgreSQL | 38.0 s | < 2 s | above |');
    expect(lines).toContain('| gateway ÷ nginx, GET /inventory/:id | embedded SQLite | 0.41 × | ≥ 0.7 × | below |');
  });

  it("print the figures in the issue's shape, one column per database", () => {
    const lines = formatFigures(result);
    expect(lines[0]).toBe('| | embedded SQLite | PostgreSQL |');
    expect(lines).toContain('| backlog when the load stopped, and drain time | 1,000 orders, 1.0 s | 13,793 orders, 38.0 s |');
    expect(lines).toContain('| CPU per order, whole machine | 1.68 ms | — |');
    expect(lines).toContain("| CPU per order, the system's own processes | 1.50 ms | — |");
    expect(lines).toContain('| cores used by other processes meanwhile (noise) | 0.10 | — |');
    expect(lines).toContain('| ProcessPayment calls/s, saga client / bare grpc-js | 700 / 1,000 | — |');
  });

  it('leave out rows measured on no database, and the whole table when nothing was', () => {
    const lines = formatFigures({ databases: { postgres: { orders: orders({}), violations: [] } } });
    expect(lines[0]).toBe('| | PostgreSQL |');
    expect(lines.some((l) => l.includes('ProcessPayment'))).toBe(false);
    expect(lines).toContain('| end-to-end settled orders/s | 952 |');
    expect(formatFigures({ databases: { sqlite: { violations: [] } } })).toEqual([]);
  });
});
