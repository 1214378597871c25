import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import { ServiceProcess, TestSystem, freePort, waitFor } from '@shopflow/devkit';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { call, settled } from '../support.js';

const LEASE_MS = 1000;
/** The longest a crashed instance's sagas can wait: its lease, then the others' next sweep. */
const TAKEOVER_MS = LEASE_MS + Math.ceil(LEASE_MS / 3);
const ORDERS = 80;
const STOCK = 1000;

interface SagaRow {
  order_id: string;
  state: string;
  owner: string | null;
  steps: string;
}

/**
 * Two saga orchestrators on one PostgreSQL database, each a real process beside the real order,
 * inventory and payment services. One is killed with SIGKILL while it still has sagas to drive;
 * the other takes them over once its lease has run out.
 */
describe('two saga orchestrators on one PostgreSQL database, one of them killed', () => {
  let system: TestSystem;
  let doomed: ServiceProcess;
  let db: Db;

  beforeAll(async () => {
    const env = { SAGA_LEASE_MS: String(LEASE_MS), PAYMENT_SUCCESS_RATE: '1', GATEWAY_RATE_LIMIT: '1000' };
    system = await TestSystem.start({ databases: 'postgres', env });
    db = await openDatabase(system.databaseUrls.saga);
    // The second orchestrator: the system's saga environment, its own port, and one saga at a
    // time, so that it still has sagas in hand when it is killed. Never restarted.
    const admin = system.natsAdmin;
    const port = await freePort();
    doomed = new ServiceProcess({
      name: 'saga',
      port,
      restart: false,
      sink: process.env.SHOPFLOW_TEST_LOGS ? (name, line) => process.stderr.write(`[${name}-2] ${line}\n`) : () => undefined,
      env: {
        ...process.env,
        ...env,
        NATS_URL: system.natsUrl,
        ...(admin && 'user' in admin ? { NATS_CREDS: '', NATS_USER: admin.user, NATS_PASSWORD: admin.password } : {}),
        DATA_DIR: system.dataDir,
        SAGA_DATABASE_URL: system.databaseUrls.saga,
        SAGA_ORCHESTRATOR_PORT: String(port),
        INVENTORY_SERVICE_URL: system.url('inventory'),
        PAYMENT_SERVICE_URL: system.url('payment'),
        SAGA_CONCURRENCY: '1',
      },
    });
  });
  afterAll(async () => {
    await doomed?.stop();
    await db?.close();
    await system?.stop();
  });

  const sagas = (ids: string[]) =>
    db.query<SagaRow>('SELECT order_id, state, owner, steps FROM sagas WHERE order_id = ANY($1)', [ids]);
  const instances = async () => (await db.query<{ id: string }>('SELECT id FROM saga_instances')).map((r) => r.id);

  it('finishes every saga of the killed one within lease + sweep of its death, no step recorded twice', async () => {
    const [survivor] = await instances();
    expect(survivor).toBeDefined();
    doomed.start();
    await doomed.waitReady();
    const victim = (await instances()).find((id) => id !== survivor);
    expect(victim).toBeDefined();

    const admin = { url: system.gatewayUrl, headers: await system.authorization('ops', Role.Admin) };
    const productId = `TAKEOVER-${randomUUID().slice(0, 8)}`;
    expect(
      (await call(admin, 'PUT', `/inventory/${productId}`, { product_name: 'Lease', available_quantity: STOCK })).status,
    ).toBe(201);
    const placed = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        call(system.url('order'), 'POST', '/orders', { customer_id: `C-${i}`, product_id: productId, quantity: 1, amount: 1 }),
      ),
    );
    for (const p of placed) expect(p.status).toBe(201);
    const ids = placed.map((p) => p.body.id as string);

    // Every saga exists (no orders.created left unacked in the victim's hands), and the victim
    // still owns unfinished ones: kill it now.
    await waitFor(
      'every saga created, the second orchestrator with a backlog',
      async () => {
        const rows = await sagas(ids);
        const backlog = rows.filter((r) => r.owner === victim && (r.state === 'RUNNING' || r.state === 'COMPENSATING'));
        return rows.length === ORDERS && backlog.length >= 5;
      },
      { timeoutMs: 20_000, intervalMs: 10 },
    );
    await doomed.kill('SIGKILL');
    const killedAt = Date.now();
    const orphans = (await sagas(ids))
      .filter((r) => r.owner === victim && (r.state === 'RUNNING' || r.state === 'COMPENSATING'))
      .map((r) => r.order_id);
    expect(orphans.length).toBeGreaterThan(0);

    // Taken over once the lease has run out (renewed every third of it, so not at once), and by
    // the next sweep after that. That the survivor took nothing while the lease was live shows
    // already: the victim still owned its backlog at the kill, after many of the survivor's sweeps.
    await waitFor('the survivor to own every orphan', async () => (await sagas(orphans)).every((r) => r.owner === survivor), {
      timeoutMs: TAKEOVER_MS + 2000,
      intervalMs: 10,
    });
    const claimedMs = Date.now() - killedAt;
    const ended = await waitFor(
      'every saga to end',
      async () => {
        const rows = await sagas(ids);
        return rows.every((r) => r.state === 'COMPLETED') && rows;
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
    const endedMs = Date.now() - killedAt;
    console.info(
      `saga takeover (lease ${LEASE_MS} ms): ${orphans.length} orphans claimed ${claimedMs} ms and ended ${endedMs} ms after the kill`,
    );
    expect(claimedMs).toBeGreaterThanOrEqual(LEASE_MS / 3);
    expect(claimedMs).toBeLessThanOrEqual(TAKEOVER_MS + 500);

    for (const row of ended) {
      const done = (JSON.parse(row.steps) as { action: string; result: string }[])
        .filter((s) => s.result === 'ok')
        .map((s) => s.action);
      expect(done, row.order_id).toEqual(['reserve-stock', 'charge-payment', 'commit-stock']);
      if (orphans.includes(row.order_id)) expect(row.owner).toBe(survivor);
    }
    const metrics = await (await fetch(`${system.httpUrl('saga')}/metrics`)).text();
    const takeovers = Number(/^saga_takeovers_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1]);
    expect(takeovers).toBeGreaterThanOrEqual(orphans.length);

    // Outside the saga: each order completed once, and the stock adds up with nothing left reserved.
    for (const id of ids) expect((await settled(system.url('order'), id, 10_000)).status).toBe('COMPLETED');
    const stock = await call(admin, 'GET', `/inventory/${productId}`);
    expect(stock.body).toMatchObject({ available_quantity: STOCK - ORDERS, reserved_quantity: 0, sold_quantity: ORDERS });
  });
});
