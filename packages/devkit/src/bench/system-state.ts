// How far the system has got with the orders it was given, read from the services' databases:
// the figures the bench reports while the load runs and drains.
import { TERMINAL_ORDER_STATUSES } from '@shopflow/contracts';
import type { Messaging } from '@shopflow/platform/messaging';
import { quiet, type SystemDatabases } from '../chaos/invariants.js';

/** Orders by status and sagas by state. */
export interface State {
  orders: Record<string, number>;
  sagas: Record<string, number>;
}

async function countBy(dbs: SystemDatabases, service: 'order' | 'saga', sql: string): Promise<Record<string, number>> {
  const rows = await dbs.get(service).query<{ k: string; n: number }>(sql);
  return Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));
}

/** Orders by status. */
export function countOrders(dbs: SystemDatabases): Promise<Record<string, number>> {
  return countBy(dbs, 'order', 'SELECT status AS k, COUNT(*) AS n FROM orders GROUP BY status');
}

async function readState(dbs: SystemDatabases): Promise<State> {
  return {
    orders: await countOrders(dbs),
    sagas: await countBy(dbs, 'saga', 'SELECT state AS k, COUNT(*) AS n FROM sagas GROUP BY state'),
  };
}

/** All orders counted in `byStatus`. */
export const total = (byStatus: Record<string, number>) => Object.values(byStatus).reduce((a, b) => a + b, 0);
/** The orders of `byStatus` that reached a terminal status. */
export const settled = (byStatus: Record<string, number>) => TERMINAL_ORDER_STATUSES.reduce((a, s) => a + (byStatus[s] ?? 0), 0);

/**
 * Polls chaos's quiet() until the system is quiet or `timeoutS` has passed; `progress` hears about
 * the state every 5 s meanwhile. `detail` says what was still open at the end.
 */
export async function waitQuiet(
  dbs: SystemDatabases,
  messaging: Messaging,
  timeoutS: number,
  progress?: (s: State, elapsedS: number) => void,
): Promise<{ quiet: boolean; detail: string }> {
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    const q = await quiet(dbs, messaging);
    if (q.quiet || Date.now() - started > timeoutS * 1000) return q;
    if (progress && Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      progress(await readState(dbs), (lastReport - started) / 1000);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** When the last order changed (its terminal status, on a quiet system), in ms since the epoch; NaN without orders. */
export async function lastOrderChange(dbs: SystemDatabases): Promise<number> {
  const [row] = await dbs.get('order').query<{ at: string | null }>('SELECT MAX(updated_at) AS at FROM orders');
  return Date.parse(row?.at ?? '');
}
