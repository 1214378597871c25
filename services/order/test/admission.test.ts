import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer, startTestService, waitFor, type TestService } from '@shopflow/devkit';
import type { InventoryApp } from '@shopflow/inventory/app';
import { inventoryService } from '@shopflow/inventory/service';
import { createHttpClient, type HttpClient } from '@shopflow/platform/http';
import { createInventoryCatalog } from '../src/adapters/inventory-catalog.js';
import { createOrderApp, type OrderApp } from '../src/app.js';
import { orderService } from '../src/service.js';

describe('admission: a bounded backlog of unsettled orders', () => {
  const LIMIT = 3;
  let nats: NatsServer;
  let inventory: TestService<InventoryApp>;
  let inventoryClient: HttpClient;
  let order: TestService<OrderApp>;

  beforeAll(async () => {
    nats = await NatsServer.start();
    inventory = await startTestService(inventoryService);
    inventoryClient = createHttpClient(inventory.address);
    // No saga runs here: every order placed stays PENDING until the test ends it.
    order = await startTestService(
      {
        ...orderService,
        build: (ctx) => createOrderApp(ctx, { catalog: createInventoryCatalog(inventoryClient), backlogLimit: LIMIT }),
      },
      { natsUrl: nats.url },
    );
  });
  afterAll(async () => {
    await order?.stop();
    await inventoryClient?.close();
    await inventory?.stop();
    await nats?.stop({ removeStore: true });
  });

  const place = async () => {
    const res = await fetch(`${order.address}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer_id: 'C-ADM', product_id: 'PROD001', quantity: 1, amount: 1 }),
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      type: res.headers.get('content-type'),
      body: (await res.json()) as any,
    };
  };
  const count = async () =>
    (await (await fetch(`${order.address}/orders?status=PENDING&limit=100`)).json()) as { orders: unknown[] };

  it('refuses the order past the limit with 503 and Retry-After, writes nothing, and takes orders again once one settles', async () => {
    const taken: string[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const res = await place();
      expect(res.status).toBe(201);
      taken.push(res.body.id);
    }
    const refused = await place();
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('1');
    expect(refused.type).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 503, type: 'urn:shopflow:problem:at-capacity' });
    expect((await count()).orders).toHaveLength(LIMIT);

    // One order ends: the backlog has room again once the count is refreshed.
    const cancel = await fetch(`${order.address}/orders/${taken[0]}/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '"CANCELLED"',
    });
    expect(cancel.status).toBe(200);
    const admitted = await waitFor(
      'an order admitted again',
      async () => {
        const res = await place();
        return res.status === 201 ? res : undefined;
      },
      { timeoutMs: 5000, intervalMs: 50 },
    );
    expect(admitted.body.status).toBe('PENDING');
    expect(await place()).toMatchObject({ status: 503 });

    const metrics = await (await fetch(`${order.address}/metrics`)).text();
    expect(metrics).toMatch(/^orders_refused_total\{service="order"\} [1-9]/m);
    expect(metrics).toMatch(new RegExp(`^orders_backlog_limit\\{service="order"\\} ${LIMIT}$`, 'm'));
  });
});
