import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventType, OrderStatus, Stream, Subject, type OrderCancelledEvent } from '@shopflow/contracts';
import {
  NatsServer,
  PG_ADMIN_URL,
  TcpSwitch,
  createDatabase,
  dropDatabase,
  startTestService,
  waitFor,
  type TestService,
} from '@shopflow/devkit';
import type { InventoryApp } from '@shopflow/inventory/app';
import { inventoryService } from '@shopflow/inventory/service';
import type { NotificationApp } from '@shopflow/notification/app';
import { notificationService } from '@shopflow/notification/service';
import type { OrderApp } from '@shopflow/order/app';
import { orderService } from '@shopflow/order/service';
import { connectMessaging, listDeadLetters, type Messaging } from '@shopflow/platform/messaging';
import { loadDatabaseOptions } from '@shopflow/platform/config';
import { createLogger } from '@shopflow/platform/logger';
import { call } from '../support.js';

// What the services stand on goes away here: PostgreSQL behind a switch the test cuts, and a
// nats-server the test kills. Nothing accepted may be lost, nothing live may be dead-lettered.

const pg = new URL(PG_ADMIN_URL);
const pgTarget = { host: pg.hostname, port: Number(pg.port || 5432) };
const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('a database outage', () => {
  let nats: NatsServer;
  let messaging: Messaging;
  beforeAll(async () => {
    nats = await NatsServer.start();
    messaging = await connectMessaging(nats.url, 'outage-test', createLogger('test', 'silent'));
  });
  afterAll(async () => {
    await messaging?.close();
    await nats?.stop({ removeStore: true });
  });

  it('dead-letters nothing: events wait for the database however many deliveries it takes', async () => {
    const url = await createDatabase('shopflow_outage');
    stops.push(() => dropDatabase(url));
    const path = await TcpSwitch.start(pgTarget);
    stops.push(() => path.down());
    const notification: TestService<NotificationApp> = await startTestService(notificationService, {
      databaseUrl: path.route(url),
      natsUrl: nats.url,
      config: { ackWaitMs: 1000, maxDeliver: 2 },
    });
    stops.push(() => notification.stop());

    await path.down();
    const customer = `c-${randomUUID().slice(0, 8)}`;
    const orders = [randomUUID(), randomUUID(), randomUUID()];
    for (const order_id of orders) {
      const event: OrderCancelledEvent = {
        event_id: randomUUID(),
        event_type: EventType.OrderCancelled,
        order_id,
        customer_id: customer,
        product_id: 'PROD001',
        quantity: 1,
        amount: 1,
        amount_minor: 100,
        status: OrderStatus.Cancelled,
        occurred_at: new Date().toISOString(),
      };
      await messaging.js.publish(Subject.OrderCancelled, JSON.stringify(event), { msgID: event.event_id });
    }
    // Far more deliveries than NATS_MAX_DELIVER (2) while the database is away.
    const durable = 'notification-orders-cancelled';
    await waitFor(
      'redeliveries past the budget',
      async () => (await messaging.jsm.consumers.info(Stream.Orders.name, durable)).num_redelivered >= 3,
      { timeoutMs: 30_000 },
    );
    expect(await listDeadLetters(messaging.jsm)).toEqual([]);
    const ready = await call(notification.address, 'GET', '/ready');
    expect(ready.status).toBe(503);

    await path.up();
    await waitFor('every notification', async () => {
      const res = await call(notification.address, 'GET', `/notifications?customer_id=${customer}`);
      return res.status === 200 && res.body.notifications.length === orders.length;
    });
    expect(await listDeadLetters(messaging.jsm)).toEqual([]);
  });

  it('a service that starts while its database is down answers 503 with Retry-After, then serves', async () => {
    const url = await createDatabase('shopflow_outage');
    stops.push(() => dropDatabase(url));
    const path = await TcpSwitch.start(pgTarget);
    stops.push(() => path.down());
    await path.down();
    const inventory: TestService<InventoryApp> = await startTestService(inventoryService, {
      databaseUrl: path.route(url),
      until: 'listening',
    });
    stops.push(() => inventory.stop());

    const refused = await call(inventory.address, 'GET', '/inventory/PROD001');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
    const notReady = await call(inventory.address, 'GET', '/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks['start-up']).toMatch(/waiting for the database/);

    await path.up();
    await inventory.started;
    expect((await call(inventory.address, 'GET', '/ready')).status).toBe(200);
    expect((await call(inventory.address, 'GET', '/inventory/PROD001')).body).toMatchObject({ product_id: 'PROD001' });

    // Down again while serving: a fast 503 with Retry-After, not a hang; back again, served again.
    await path.down();
    const during = await call(inventory.address, 'GET', '/inventory/PROD001');
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('1');
    await path.up();
    await waitFor(
      'the inventory to answer again',
      async () => (await call(inventory.address, 'GET', '/inventory/PROD001')).status === 200,
    );
  });
});

describe('a frozen database', () => {
  it('fails requests within the statement deadline with 503 and Retry-After, not a hang, and recovers', async () => {
    const url = await createDatabase('shopflow_outage');
    stops.push(() => dropDatabase(url));
    const path = await TcpSwitch.start(pgTarget);
    stops.push(() => path.down());
    const base = loadDatabaseOptions({});
    const inventory = await startTestService(inventoryService, {
      databaseUrl: path.route(url),
      config: { database: { ...base, connectTimeoutMs: 500, statementTimeoutMs: 500 } },
    });
    stops.push(() => inventory.stop());
    expect((await call(inventory.address, 'GET', '/inventory/PROD001')).status).toBe(200);

    path.freeze();
    const started = Date.now();
    const frozen = await call(inventory.address, 'GET', '/inventory/PROD001');
    // The client-side deadline is the statement timeout plus a second.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(frozen.status).toBe(503);
    expect(frozen.headers.get('retry-after')).toBe('1');

    path.thaw();
    await waitFor(
      'the inventory to answer again',
      async () => (await call(inventory.address, 'GET', '/inventory/PROD001')).status === 200,
    );
  });
});

describe('NATS down when a service starts', () => {
  it('the order service starts, takes orders into its outbox and serves reads; they are published once NATS is back', async () => {
    const nats = await NatsServer.start();
    stops.push(() => nats.stop({ removeStore: true }));
    const inventory = await startTestService(inventoryService);
    stops.push(() => inventory.stop());
    await nats.kill('SIGKILL');

    // The order service finds inventory as it would in production: through its URL setting.
    process.env.INVENTORY_SERVICE_URL = inventory.address;
    stops.push(() => Promise.resolve(delete process.env.INVENTORY_SERVICE_URL));
    const order: TestService<OrderApp> = await startTestService(orderService, { natsUrl: nats.url, until: 'started' });
    stops.push(() => order.stop());
    const placed = await call(order.address, 'POST', '/orders', {
      customer_id: 'c1',
      product_id: 'PROD001',
      quantity: 1,
      amount: 9.99,
    });
    expect(placed.status).toBe(201);
    expect((await call(order.address, 'GET', `/orders/${placed.body.id}`)).body.status).toBe('PENDING');
    expect(await order.outbox!.pending()).toBe(1);
    expect((await call(order.address, 'GET', '/ready')).status).toBe(200);

    await nats.restart();
    await order.consuming;
    await waitFor('the outbox to drain', async () => (await order.outbox!.pending()) === 0);
    const info = await order.messaging!.jsm.streams.info(Stream.Orders.name);
    expect(info.state.messages).toBe(1);
  });
});
