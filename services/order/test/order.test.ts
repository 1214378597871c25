import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, Stream, Subject, type OrderStatusCommand } from '@shopflow/contracts';
import { NatsServer, startTestService, waitFor, type TestService } from '@shopflow/devkit';
import type { InventoryApp } from '@shopflow/inventory/app';
import { inventoryService } from '@shopflow/inventory/service';
import { createHttpClient, type HttpClient } from '@shopflow/platform/http';
import type { Messaging } from '@shopflow/platform/messaging';
import { createInventoryCatalog } from '../src/adapters/inventory-catalog.js';
import { createOrderApp, type OrderApp } from '../src/app.js';
import { orderService } from '../src/service.js';

describe.each(['sqlite', 'postgres'] as const)('order service on %s', (dialect) => {
  let nats: NatsServer;
  let inventory: TestService<InventoryApp>;
  let inventoryClient: HttpClient;
  let order: TestService<OrderApp>;
  let messaging: Messaging;
  let base: string;

  beforeAll(async () => {
    nats = await NatsServer.start();
    // The real inventory service tells which products exist.
    inventory = await startTestService(inventoryService);
    inventoryClient = createHttpClient(inventory.address);
    order = await startTestService(
      { ...orderService, build: (ctx) => createOrderApp(ctx, { catalog: createInventoryCatalog(inventoryClient) }) },
      { dialect, natsUrl: nats.url, config: { ackWaitMs: 5000, maxDeliver: 3 } },
    );
    messaging = order.messaging!;
    base = order.address;
  });

  afterAll(async () => {
    await order?.stop();
    await inventoryClient?.close();
    await inventory?.stop();
    await nats?.stop({ removeStore: true });
  });

  const post = async (p: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const get = async (p: string) => (await (await fetch(`${base}${p}`)).json()) as any;

  /** Events on a subject for one order, once the outbox has handed everything to JetStream. */
  async function published(subject: string, orderId: string): Promise<any[]> {
    await waitFor('the outbox to drain', async () => (await order.outbox!.pending()) === 0);
    const info = await messaging.jsm.streams.info(Stream.Orders.name);
    const out: any[] = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const m = await messaging.jsm.streams.getMessage(Stream.Orders.name, { seq });
      if (m?.subject === subject && m.json<{ order_id: string }>().order_id === orderId) out.push(m.json());
    }
    return out;
  }

  const command = (orderId: string, status: OrderStatusCommand['status']): OrderStatusCommand => ({
    event_id: randomUUID(),
    event_type: EventType.OrderStatusRequested,
    order_id: orderId,
    status,
    occurred_at: new Date().toISOString(),
  });

  it('stores a placed order and publishes orders.created with the seed fields, in minor units too', async () => {
    const placed = await post('/orders', { customer_id: 'CUST001', product_id: 'PROD001', quantity: 2, amount: 99.99 });
    expect(placed.status).toBe(201);
    expect(await get(`/orders/${placed.body.id}`)).toMatchObject({ id: placed.body.id, status: 'PENDING', amount: 99.99 });
    const events = await published(Subject.OrderCreated, placed.body.id);
    expect(events).toEqual([
      expect.objectContaining({ event_type: 'OrderCreated', quantity: 2, amount: 99.99, amount_minor: 9999 }),
    ]);
  });

  it('refuses an unknown product with 422 and writes nothing', async () => {
    const customer = `C-${randomUUID()}`;
    const res = await post('/orders', { customer_id: customer, product_id: 'NOPE', quantity: 1, amount: 1 });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'product_id', reason: 'unknown product NOPE' }]);
    expect((await get(`/orders?customer_id=${customer}`)).orders).toEqual([]);
  });

  it('answers the same Idempotency-Key and body with the same order, concurrently too', async () => {
    const key = randomUUID();
    const body = { customer_id: `C-${randomUUID()}`, product_id: 'PROD001', quantity: 1, amount: 5 };
    const replies = await Promise.all(Array.from({ length: 10 }, () => post('/orders', body, { 'idempotency-key': key })));
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect((await get(`/orders?customer_id=${body.customer_id}`)).orders).toHaveLength(1);
    expect(await published(Subject.OrderCreated, replies[0]!.body.id)).toHaveLength(1);
  });

  it('follows saga commands forwards only, and announces the end once', async () => {
    const placed = await post('/orders', { customer_id: 'c', product_id: 'PROD001', quantity: 1, amount: 1 });
    const id = placed.body.id as string;
    const send = (status: OrderStatusCommand['status']) =>
      messaging.js.publish(Subject.OrderStatusCommand, JSON.stringify(command(id, status)), { msgID: randomUUID() });
    await send('PAYMENT_PROCESSING');
    await waitFor('PAYMENT_PROCESSING', async () => (await get(`/orders/${id}`)).status === 'PAYMENT_PROCESSING');
    await send('CONFIRMED'); // late: ignored
    await send('COMPLETED');
    await send('COMPLETED'); // again, under another event id
    await send('CANCELLED'); // after the end: ignored
    await waitFor('COMPLETED', async () => (await get(`/orders/${id}`)).status === 'COMPLETED');
    const ended = await waitFor('one orders.completed', async () => {
      const e = await published(Subject.OrderCompleted, id);
      return e.length > 0 && e;
    });
    expect(ended).toEqual([expect.objectContaining({ event_type: 'OrderCompleted', status: 'COMPLETED', customer_id: 'c' })]);
    // The later commands were applied (acknowledged) without effect.
    await waitFor('commands acknowledged', async () => {
      const c = await messaging.jsm.consumers.info(Stream.Saga.name, 'order-saga-order-status');
      return c.num_pending + c.num_ack_pending === 0;
    });
    expect((await get(`/orders/${id}`)).status).toBe('COMPLETED');
    expect(await published(Subject.OrderCancelled, id)).toEqual([]);
    // The saga's own ending is not echoed back to it.
    expect(await published(Subject.OrderEndedByApi, id)).toEqual([]);
  });

  it('tells the saga alone of an API ending, and never of one the saga commanded', async () => {
    const place = async () =>
      (await post('/orders', { customer_id: 'c', product_id: 'PROD001', quantity: 3, amount: 12.5 })).body.id as string;
    const [byApi, bySaga] = [await place(), await place()];
    expect((await post(`/orders/${byApi}/status`, 'FAILED')).body.status).toBe('FAILED');
    await messaging.js.publish(Subject.OrderStatusCommand, JSON.stringify(command(bySaga, 'CANCELLED')), { msgID: randomUUID() });
    await waitFor('the commanded cancellation', async () => (await get(`/orders/${bySaga}`)).status === 'CANCELLED');

    const told = await published(Subject.OrderEndedByApi, byApi);
    expect(told).toEqual([
      expect.objectContaining({ event_type: 'OrderEndedByApi', status: 'FAILED', quantity: 3, amount: 12.5, amount_minor: 1250 }),
    ]);
    expect(await published(Subject.OrderFailed, byApi)).toEqual([
      expect.objectContaining({ event_type: 'OrderFailed', amount_minor: 1250 }),
    ]);
    expect(told[0].event_id).not.toBe((await published(Subject.OrderFailed, byApi))[0].event_id);
    expect(await published(Subject.OrderCancelled, bySaga)).toHaveLength(1);
    expect(await published(Subject.OrderEndedByApi, bySaga)).toEqual([]);
  });

  it('allows legal API transitions only, announcing an API cancellation', async () => {
    const placed = await post('/orders', { customer_id: 'c', product_id: 'PROD001', quantity: 1, amount: 1 });
    const id = placed.body.id as string;
    expect((await post(`/orders/${id}/status`, 'COMPLETED')).status).toBe(409);
    expect((await post(`/orders/${id}/status`, 'CONFIRMED')).body.status).toBe('CONFIRMED');
    expect((await post(`/orders/${id}/status`, 'CANCELLED')).body.status).toBe('CANCELLED');
    expect((await post(`/orders/${id}/status`, 'CONFIRMED')).status).toBe(409);
    expect((await post(`/orders/${randomUUID()}/status`, 'CANCELLED')).status).toBe(404);
    expect(await published(Subject.OrderCancelled, id)).toEqual([
      expect.objectContaining({ event_type: 'OrderCancelled', status: 'CANCELLED' }),
    ]);
    expect(await published(Subject.OrderEndedByApi, id)).toEqual([
      expect.objectContaining({ event_type: 'OrderEndedByApi', status: 'CANCELLED', amount_minor: 100 }),
    ]);
  });
});
