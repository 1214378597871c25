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
  const read = async (p: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${p}`, { headers });
    return { status: res.status, body: (await res.json()) as any };
  };
  /** The headers the gateway sets for a verified token. */
  const as = (subject: string, role: 'customer' | 'admin' = 'customer') => ({
    'x-shopflow-subject': subject,
    'x-shopflow-role': role,
  });
  const customer = () => `C-${randomUUID()}`;

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

  describe('ownership (principal headers as the gateway sets them)', () => {
    const order = { product_id: 'PROD001', quantity: 1, amount: 2 };

    it("answers B's read, cancel and status change of A's order with 404, and lets A and an admin act", async () => {
      const [a, b] = [customer(), customer()];
      const placed = await post('/orders', { ...order, customer_id: a }, as(a));
      expect(placed.status).toBe(201);
      const id = placed.body.id as string;
      // The same answer as for an order that does not exist, so the id leaks nothing.
      expect(await read(`/orders/${id}`, as(b))).toMatchObject({ status: 404, body: { detail: `order ${id} not found` } });
      expect((await post(`/orders/${id}/status`, 'CANCELLED', as(b))).status).toBe(404);
      expect((await read(`/orders/${id}`, as(a))).body.status).toBe('PENDING');
      expect((await read(`/orders/${id}`, as('ops', 'admin'))).status).toBe(200);
      expect((await post(`/orders/${id}/status`, 'CANCELLED', as(a))).body.status).toBe('CANCELLED');
    });

    it('lets a customer only cancel: any other status is 403 and changes nothing', async () => {
      const a = customer();
      const id = (await post('/orders', { ...order }, as(a))).body.id as string;
      for (const status of ['CONFIRMED', 'PAYMENT_PROCESSING', 'FAILED', 'COMPLETED']) {
        const res = await post(`/orders/${id}/status`, status, as(a));
        expect(res.status).toBe(403);
        expect(res.body.errors).toEqual([{ field: 'status', reason: 'a customer may only set CANCELLED' }]);
      }
      expect((await get(`/orders/${id}`)).status).toBe('PENDING');
      expect((await post(`/orders/${id}/status`, 'CONFIRMED', as('ops', 'admin'))).body.status).toBe('CONFIRMED');
    });

    it("places a customer's order for itself only: another customer_id is 403, none is its own", async () => {
      const [a, b] = [customer(), customer()];
      const forB = await post('/orders', { ...order, customer_id: b }, as(a));
      expect(forB.status).toBe(403);
      expect(forB.body.errors).toEqual([{ field: 'customer_id', reason: "is not the caller's own customer id" }]);
      expect((await get(`/orders?customer_id=${b}`)).orders).toEqual([]);
      expect((await post('/orders', order, as(a))).body.customer_id).toBe(a);
      expect((await post('/orders', order, as('ops', 'admin'))).status).toBe(400);
      expect((await post('/orders', order)).body.errors).toEqual([{ field: 'customer_id', reason: 'is required' }]);
      expect((await post('/orders', { ...order, customer_id: b }, as('ops', 'admin'))).status).toBe(201);
    });

    it("lists a customer's own orders only; another customer's list is 403", async () => {
      const [a, b] = [customer(), customer()];
      await post('/orders', order, as(a));
      await post('/orders', order, as(b));
      const own = await read('/orders', as(a));
      expect(own.body.orders.map((o: { customer_id: string }) => o.customer_id)).toEqual([a]);
      expect((await read(`/orders?customer_id=${a}`, as(a))).body.orders).toEqual(own.body.orders);
      expect((await read(`/orders?customer_id=${b}`, as(a))).status).toBe(403);
      expect((await read(`/orders?customer_id=${b}`, as('ops', 'admin'))).body.orders).toHaveLength(1);
    });

    it('refuses malformed principal headers rather than trusting the call', async () => {
      expect((await read('/orders', { 'x-shopflow-subject': 'a', 'x-shopflow-role': 'root' })).status).toBe(400);
      expect((await read('/orders', { 'x-shopflow-role': 'customer' })).status).toBe(400);
    });

    it('answers extra fields with 400 and an oversized body with 413, writing nothing', async () => {
      const a = customer();
      const extra = await post('/orders', { ...order, status: 'COMPLETED' }, as(a));
      expect(extra.status).toBe(400);
      expect(extra.body.errors).toEqual([{ field: 'status', reason: 'is not an allowed field' }]);
      const huge = await post('/orders', { ...order, customer_id: 'x'.repeat(70 * 1024) }, as(a));
      expect(huge.status).toBe(413);
      expect((await read('/orders', as(a))).body.orders).toEqual([]);
    });

    it('scopes an Idempotency-Key to its customer: the same key from two customers makes two orders', async () => {
      const [a, b] = [customer(), customer()];
      const key = { 'idempotency-key': randomUUID() };
      const first = await post('/orders', order, { ...as(a), ...key });
      const other = await post('/orders', order, { ...as(b), ...key });
      const again = await post('/orders', { ...order, customer_id: a }, { ...as(a), ...key });
      expect([first.status, other.status, again.status]).toEqual([201, 201, 201]);
      expect(other.body.id).not.toBe(first.body.id);
      expect(other.body.customer_id).toBe(b);
      expect(again.body.id).toBe(first.body.id);
      expect((await post('/orders', { ...order, quantity: 2 }, { ...as(b), ...key })).status).toBe(422);
    });
  });

  describe('prices', () => {
    async function pricedProduct(price: number): Promise<string> {
      const id = `P-${randomUUID().slice(0, 8)}`;
      const res = await inventoryClient.request({
        method: 'PUT',
        path: `/inventory/${id}`,
        body: { product_name: id, available_quantity: 10, price },
      });
      expect(res.status).toBe(201);
      return id;
    }

    it('computes quantity × price when the amount is left out, and refuses a different one with 422', async () => {
      const productId = await pricedProduct(2.5);
      const placed = await post('/orders', { customer_id: customer(), product_id: productId, quantity: 3 });
      expect(placed.status).toBe(201);
      expect(placed.body.amount).toBe(7.5);
      expect((await post('/orders', { customer_id: 'c', product_id: productId, quantity: 3, amount: 7.5 })).status).toBe(201);
      const cheap = await post('/orders', { customer_id: 'c', product_id: productId, quantity: 3, amount: 0.01 });
      expect(cheap.status).toBe(422);
      expect(cheap.body.errors[0].field).toBe('amount');
    });

    it('refuses a free order, and a missing amount for a product without a price', async () => {
      const free = await post('/orders', { customer_id: 'c', product_id: 'PROD001', quantity: 1, amount: 0 });
      expect(free.status).toBe(400);
      expect(free.body.errors[0].field).toBe('amount');
      const none = await post('/orders', { customer_id: 'c', product_id: 'PROD001', quantity: 1 });
      expect(none.status).toBe(400);
      expect(none.body.errors).toEqual([{ field: 'amount', reason: 'is required: product PROD001 has no price' }]);
    });
  });

  describe('stats', () => {
    it('counts orders by status overall and among those placed in the window, for operators only', async () => {
      const before = await read('/orders/stats', as('ops', 'admin'));
      expect(before.status).toBe(200);
      // One order from two hours ago counts overall but not in the last minute.
      const old = new Date(Date.now() - 2 * 3600_000).toISOString();
      await order.db!.execute(
        `INSERT INTO orders (id, customer_id, product_id, quantity, amount_minor, status, status_reason, created_at, updated_at)
         VALUES ($1, 'c', 'PROD001', 1, 100, 'COMPLETED', NULL, $2, $2)`,
        [randomUUID(), old],
      );
      const placed = await Promise.all(
        [1, 2, 3].map(() => post('/orders', { product_id: 'PROD001', quantity: 1, amount: 1 }, as(customer()))),
      );
      const cancelled = await post(`/orders/${placed[0]!.body.id}/status`, 'CANCELLED');
      expect(cancelled.status).toBe(200);

      const after = await read('/orders/stats', as('ops', 'admin'));
      expect(after.status).toBe(200);
      const delta = (from: Record<string, number>, to: Record<string, number>) =>
        Object.fromEntries(Object.keys(to).map((s) => [s, to[s]! - (from[s] ?? 0)]));
      expect(delta(before.body.counts, after.body.counts)).toEqual({
        PENDING: 2,
        CONFIRMED: 0,
        PAYMENT_PROCESSING: 0,
        COMPLETED: 1,
        CANCELLED: 1,
        FAILED: 0,
      });
      expect(after.body.recent.window_s).toBe(60);
      expect(after.body.recent.placed - before.body.recent.placed).toBe(3);
      expect(after.body.recent.counts.COMPLETED - before.body.recent.counts.COMPLETED).toBe(0);
      expect(after.body.recent.counts.CANCELLED - before.body.recent.counts.CANCELLED).toBe(1);

      expect((await read('/orders/stats?window_s=7200')).body.recent).toMatchObject({ window_s: 3600 });
      expect((await read('/orders/stats?window_s=0')).status).toBe(400);
      const customerRead = await read('/orders/stats', as(customer()));
      expect(customerRead.status).toBe(403);
      expect(customerRead.body.counts).toBeUndefined();
    });
  });

  describe('pages', () => {
    it('walks every order of a customer once, newest first, across pages of ties in created_at', async () => {
      const a = customer();
      // Placed concurrently, many share a millisecond: the id breaks the tie.
      const placed = await Promise.all(
        Array.from({ length: 23 }, () => post('/orders', { product_id: 'PROD001', quantity: 1, amount: 1 }, as(a))),
      );
      const seen: { id: string; created_at: string }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await read(`/orders?limit=5${cursor ? `&cursor=${cursor}` : ''}`, as(a));
        expect(res.status).toBe(200);
        expect(res.body.orders.length).toBeLessThanOrEqual(5);
        seen.push(...res.body.orders);
        cursor = res.body.next_cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(5);
      expect(seen.map((o) => o.id).sort()).toEqual(placed.map((p) => p.body.id as string).sort());
      expect(seen.map((o) => o.created_at)).toEqual(
        seen
          .map((o) => o.created_at)
          .sort()
          .reverse(),
      );
    });

    it('answers a cursor it did not give with 400 naming the field', async () => {
      const res = await read('/orders?cursor=bm90LWEtY3Vyc29y');
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'cursor', reason: 'is not a cursor this list answered with' }]);
    });
  });
});
