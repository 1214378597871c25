// The benchmark's load: wrk POSTing seed-shaped orders through the gateway, driven by
// packages/devkit/bench/orders.lua, which prints one machine-readable `BENCH …` line at the end.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../supervisor.js';

const LUA = path.join(REPO_ROOT, 'packages', 'devkit', 'bench', 'orders.lua');

/** How hard and how long wrk pushes. */
export interface LoadOptions {
  /** Seconds. */
  duration: number;
  connections: number;
  /** At most `connections`: wrk needs one connection per thread. */
  threads: number;
  /** Product ids the orders pick from at random. */
  products: readonly string[];
  /** Customers the orders pick from at random, each with its bearer token. */
  customers: readonly { id: string; token: string }[];
}

/** wrk's totals, from the `BENCH` line of orders.lua; latencies in microseconds. */
export interface WrkSummary {
  requests: number;
  durationUs: number;
  /** Answers 201 Created. */
  created: number;
  /** Answers that were neither 201 nor a refusal. */
  non201: number;
  /** 503 with Retry-After: refused past capacity (admission control), not an error. */
  refused: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
  /** The first few statuses that were not 201, comma-separated; `-` when there were none. */
  statuses: string;
}

/** What a wrk run printed: its totals, and its own human-readable report without the BENCH line. */
export interface WrkRun {
  summary: WrkSummary;
  report: string;
}

/** Whether wrk can be run at all. */
export function wrkInstalled(): boolean {
  return !spawnSync('wrk', ['-v']).error;
}

/**
 * Runs wrk against POST <gatewayUrl>/orders. `onSpawn` gets wrk's pid once it runs, `tick` is
 * called every second while it runs. Rejects when wrk fails or prints no BENCH line.
 */
export async function runWrk(
  o: LoadOptions,
  gatewayUrl: string,
  onSpawn: (pid: number) => void,
  tick: () => void,
): Promise<WrkRun> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.duration}s`, '--timeout', '30s'];
  const wrk = spawn(
    'wrk',
    [...args, '-s', LUA, `${gatewayUrl}/orders`, '--', ...o.products, ...o.customers.map((c) => `${c.id}=${c.token}`)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  wrk.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  onSpawn(wrk.pid!);
  const timer = setInterval(tick, 1000);
  const code = await new Promise<number | null>((resolve) => wrk.once('exit', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${out}`);
  return parseWrk(out);
}

const FIELDS = {
  requests: 'requests',
  durationUs: 'duration_us',
  created: 'created',
  non201: 'non201',
  refused: 'refused',
  connectErrors: 'connect_errors',
  readErrors: 'read_errors',
  writeErrors: 'write_errors',
  timeouts: 'timeouts',
  p50Us: 'p50_us',
  p90Us: 'p90_us',
  p99Us: 'p99_us',
  maxUs: 'max_us',
  meanUs: 'mean_us',
} as const satisfies Record<Exclude<keyof WrkSummary, 'statuses'>, string>;

/** Splits wrk's output into the `BENCH key=value …` line orders.lua prints in done() and the rest. */
export function parseWrk(out: string): WrkRun {
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`no BENCH line in wrk's output:\n${out}`);
  const raw = new Map([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  const number = (key: string) => {
    const n = Number(raw.get(key));
    if (!raw.has(key) || !Number.isFinite(n)) throw new Error(`wrk's BENCH line has no number ${key}: ${line}`);
    return n;
  };
  const summary = Object.fromEntries(Object.entries(FIELDS).map(([field, key]) => [field, number(key)])) as Omit<
    WrkSummary,
    'statuses'
  >;
  return { summary: { ...summary, statuses: raw.get('statuses') ?? '-' }, report: out.replace(/^BENCH .*\n?/m, '').trimEnd() };
}

/**
 * What the load itself must show: every answer a 201 or a refusal (503 with Retry-After), no socket error or timeout, and as many
 * orders stored as answered 201. `stored` is how many orders the load left in the order database.
 */
export function checkLoad(w: WrkSummary, stored: number, connections: number): string[] {
  const violations: string[] = [];
  if (w.non201 !== 0) violations.push(`${w.non201} answers were neither 201 nor a refusal (${w.statuses})`);
  const errors = w.connectErrors + w.readErrors + w.writeErrors + w.timeouts;
  if (errors !== 0) violations.push(`${errors} socket errors or timeouts`);
  // wrk stops with up to one request per connection in flight: those orders exist without a counted 201.
  if (!(stored >= w.created && stored <= w.created + connections))
    violations.push(`${stored} orders stored for ${w.created} answers 201 (+ at most ${connections} in flight)`);
  return violations;
}
