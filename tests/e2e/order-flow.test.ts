import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import { TestSystem, waitFor } from '@shopflow/devkit';
import { call, expectProblem, settled, type Target } from '../support.js';

/** The seed's order, verbatim. */
const SEED_ORDER = { customer_id: 'CUST001', product_id: 'PROD001', quantity: 2, amount: 99.99 };

describe('the order flow through the gateway (embedded databases, payments always succeed)', () => {
  let system: TestSystem;
  let gw: string;
  let admin: Target;
  /** The gateway, called with `customer`'s token. */
  const as = async (customer: string): Promise<Target> => ({ url: gw, headers: await system.authorization(customer) });

  beforeAll(async () => {
    // The race below polls 50 orders of one customer every 100 ms: more than the default rate limit allows one principal.
    system = await TestSystem.start({ databases: 'sqlite', env: { PAYMENT_SUCCESS_RATE: '1', GATEWAY_RATE_LIMIT: '1000' } });
    gw = system.gatewayUrl;
    admin = { url: gw, headers: await system.authorization('ops', Role.Admin) };
  });
  afterAll(async () => {
    await system?.stop();
  });

  async function product(stock: number): Promise<string> {
    const id = `P-${randomUUID().slice(0, 8)}`;
    const res = await call(admin, 'PUT', `/inventory/${id}`, { product_name: `Thing ${id}`, available_quantity: stock });
    expect(res.status).toBe(201);
    return id;
  }

  it("serves the seed's curl examples on the order port and through the gateway", async () => {
    for (const base of [system.url('order'), await as(SEED_ORDER.customer_id)]) {
      const created = await call(base, 'POST', '/orders', SEED_ORDER);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        ...SEED_ORDER,
        status: 'PENDING',
        id: expect.any(String),
        created_at: expect.any(String),
      });
      const fetched = await call(base, 'GET', `/orders/${created.body.id}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body.id).toBe(created.body.id);
    }
    const inventory = await call(gw, 'GET', '/inventory/PROD001');
    expect(inventory.body).toMatchObject({ product_id: 'PROD001', product_name: 'Widget' });
  });

  it('completes an order: stock sold, payment SUCCESS, one notification', async () => {
    const productId = await product(10);
    const customer = `C-${randomUUID()}`;
    const me = await as(customer);
    const placed = await call(me, 'POST', '/orders', { customer_id: customer, product_id: productId, quantity: 3, amount: 30.5 });
    expect(placed.status).toBe(201);
    const order = await settled(me, placed.body.id);
    expect(order.status).toBe('COMPLETED');

    const stock = await call(gw, 'GET', `/inventory/${productId}`);
    expect(stock.body).toMatchObject({ available_quantity: 7, reserved_quantity: 0, sold_quantity: 3 });

    const saga = await call(admin, 'GET', `/sagas/${order.id}`);
    expect(saga.body.saga).toMatchObject({ state: 'COMPLETED', payment_id: expect.any(String) });
    const payment = await call(me, 'GET', `/payments/${saga.body.saga.payment_id}`);
    expect(payment.status).toBe(200);
    expect(payment.body).toMatchObject({ order_id: order.id, customer_id: customer, amount: 30.5, status: 'SUCCESS' });

    const notes = await waitFor('one notification', async () => {
      const res = await call(me, 'GET', `/notifications?customer_id=${customer}`);
      return res.body.notifications.length > 0 && res.body.notifications;
    });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ order_id: order.id, order_status: 'COMPLETED' });
  });

  it('cancels an order it cannot fill, charging nothing', async () => {
    const productId = await product(1);
    const customer = `C-${randomUUID()}`;
    const me = await as(customer);
    const placed = await call(me, 'POST', '/orders', { customer_id: customer, product_id: productId, quantity: 2, amount: 10 });
    const order = await settled(me, placed.body.id);
    expect(order.status).toBe('CANCELLED');
    const saga = await call(admin, 'GET', `/sagas/${order.id}`);
    expect(saga.body.saga.payment_id).toBeNull();
    expect(saga.body.steps.map((s: { action: string }) => s.action)).not.toContain('charge-payment');
    const stock = await call(gw, 'GET', `/inventory/${productId}`);
    expect(stock.body).toMatchObject({ available_quantity: 1, reserved_quantity: 0, sold_quantity: 0 });
    await waitFor('the cancellation notice', async () => {
      const res = await call(me, 'GET', `/notifications?customer_id=${customer}`);
      return res.body.notifications.length === 1 && res.body.notifications[0].order_status === 'CANCELLED';
    });
  });

  it('sells exactly the stock when 50 orders race for 20 items', async () => {
    const productId = await product(20);
    const customer = `C-${randomUUID()}`;
    const me = await as(customer);
    const placed = await Promise.all(
      Array.from({ length: 50 }, () =>
        call(me, 'POST', '/orders', { customer_id: customer, product_id: productId, quantity: 1, amount: 5 }),
      ),
    );
    expect(placed.every((p) => p.status === 201)).toBe(true);
    const orders = await Promise.all(placed.map((p) => settled(me, p.body.id, 60_000)));
    const count = (status: string) => orders.filter((o) => o.status === status).length;
    expect(count('COMPLETED')).toBe(20);
    expect(count('CANCELLED')).toBe(30);
    const stock = await call(gw, 'GET', `/inventory/${productId}`);
    expect(stock.body).toMatchObject({ available_quantity: 0, reserved_quantity: 0, sold_quantity: 20 });
    await waitFor('50 notifications', async () => {
      const res = await call(me, 'GET', `/notifications?customer_id=${customer}&limit=1000`);
      return res.body.notifications.length === 50;
    });
  });

  it('answers bad input with problem+json naming the field, and writes nothing', async () => {
    const customer = `C-${randomUUID()}`;
    const me = await as(customer);
    const good = { customer_id: customer, product_id: 'PROD001', quantity: 1, amount: 1 };
    const cases: [unknown, number, string][] = [
      [{ ...good, product_id: 'NOPE-404' }, 422, 'product_id'],
      [{ ...good, quantity: 0 }, 400, 'quantity'],
      [{ ...good, quantity: -3 }, 400, 'quantity'],
      [{ ...good, quantity: 1.5 }, 400, 'quantity'],
      [{ ...good, quantity: '2' }, 400, 'quantity'],
      [{ ...good, amount: -1 }, 400, 'amount'],
      [{ ...good, amount: 1.234 }, 400, 'amount'],
      [{ ...good, amount: 'lots' }, 400, 'amount'],
      [{ customer_id: customer, product_id: 'PROD001', quantity: 1 }, 400, 'amount'],
      [{ ...good, coupon: 'FREE' }, 400, 'coupon'],
    ];
    for (const [body, status, field] of cases) expectProblem(await call(me, 'POST', '/orders', body), status, field);
    expectProblem(await call(me, 'POST', '/orders', '{"customer_id": '), 400);
    expectProblem(await call(me, 'POST', '/orders', 'customer_id=x', { 'content-type': 'text/plain' }), 415);
    expectProblem(await call(me, 'GET', `/orders/${randomUUID()}`), 404);
    expect((await call(me, 'GET', `/orders?customer_id=${customer}`)).body.orders).toEqual([]);

    const placed = await call(me, 'POST', '/orders', good);
    const order = await settled(me, placed.body.id);
    // A customer may only cancel; an admin may try anything the state machine allows.
    expectProblem(await call(me, 'POST', `/orders/${order.id}/status`, '"PENDING"'), 403, 'status');
    expectProblem(await call(admin, 'POST', `/orders/${order.id}/status`, '"PENDING"'), 409, 'status');
    expectProblem(await call(me, 'POST', `/orders/${order.id}/status`, '"SHIPPED"'), 400);
    expect((await call(me, 'GET', `/orders/${order.id}`)).body.status).toBe(order.status);
  });

  it('honours Idempotency-Key: same key and body give the same order, another body is refused', async () => {
    const key = randomUUID();
    const body = { customer_id: `C-${randomUUID()}`, product_id: 'PROD001', quantity: 1, amount: 2 };
    const me = await as(body.customer_id);
    const first = await call(me, 'POST', '/orders', body, { 'idempotency-key': key });
    const again = await call(me, 'POST', '/orders', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expectProblem(
      await call(me, 'POST', '/orders', { ...body, quantity: 2 }, { 'idempotency-key': key }),
      422,
      'Idempotency-Key',
    );
    expect((await call(me, 'GET', `/orders?customer_id=${body.customer_id}`)).body.orders).toHaveLength(1);
  });

  it('charges quantity × price for a priced product and keeps stock bookable by id (service ports, no principal)', async () => {
    const [order, inventory, saga] = [system.url('order'), system.url('inventory'), system.url('saga')];
    const productId = `P-${randomUUID().slice(0, 8)}`;
    expect(
      (await call(inventory, 'PUT', `/inventory/${productId}`, { product_name: 'Priced', available_quantity: 5, price: 4.25 }))
        .status,
    ).toBe(201);
    const placed = await call(order, 'POST', '/orders', { customer_id: `C-${randomUUID()}`, product_id: productId, quantity: 2 });
    expect(placed.body).toMatchObject({ amount: 8.5, status: 'PENDING' });
    expect((await settled(order, placed.body.id)).status).toBe('COMPLETED');
    expect((await call(saga, 'GET', `/sagas/${placed.body.id}`)).body.saga).toMatchObject({ amount: 8.5, state: 'COMPLETED' });

    // The seed's manual reserve answers with the id that gives the stock back.
    const held = await call(inventory, 'POST', `/inventory/${productId}/reserve`, '3');
    expect(held.body).toMatchObject({ available_quantity: 0, reserved_quantity: 3, reservation_id: expect.any(String) });
    const freed = await call(inventory, 'POST', `/inventory/${productId}/reservations/${held.body.reservation_id}/release`);
    expect(freed.body).toMatchObject({ available_quantity: 3, reserved_quantity: 0, sold_quantity: 2 });
  });

  it('takes orders and serves reads while NATS is down, and completes them once it is back', async () => {
    const customer = `C-${randomUUID()}`;
    const me = await as(customer);
    await system.nats!.kill('SIGKILL');
    const placed = await call(me, 'POST', '/orders', { customer_id: customer, product_id: 'PROD001', quantity: 1, amount: 3 });
    expect(placed.status).toBe(201);
    expect((await call(me, 'GET', `/orders/${placed.body.id}`)).body.status).toBe('PENDING');
    expect((await call(gw, 'GET', '/inventory/PROD001')).status).toBe(200);
    expect((await call(system.url('order'), 'GET', '/ready')).status).toBe(200); // NATS is not critical for taking orders
    await system.nats!.restart();
    expect((await settled(me, placed.body.id, 60_000)).status).toBe('COMPLETED');
  });

  it('keeps every acknowledged order when the order service is killed with SIGKILL', async () => {
    const customer = `C-${randomUUID()}`;
    const me = await as(customer);
    const placed = await Promise.all(
      Array.from({ length: 30 }, () =>
        call(system.url('order'), 'POST', '/orders', { customer_id: customer, product_id: 'PROD001', quantity: 1, amount: 1 }),
      ),
    );
    const acknowledged = placed.filter((p) => p.status === 201).map((p) => p.body.id as string);
    await system.services.order.kill('SIGKILL');
    await system.services.order.waitReady();
    for (const id of acknowledged) expect((await call(me, 'GET', `/orders/${id}`)).status).toBe(200);
    for (const id of acknowledged) expect(['COMPLETED', 'CANCELLED']).toContain((await settled(me, id)).status);
  });
});

describe('a declined payment (PostgreSQL, payments always decline)', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await TestSystem.start({ databases: 'postgres', env: { PAYMENT_SUCCESS_RATE: '0' } });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('releases the stock, cancels the order and notifies once', async () => {
    const gw = system.gatewayUrl;
    const customer = `C-${randomUUID()}`;
    const me: Target = { url: gw, headers: await system.authorization(customer) };
    const admin: Target = { url: gw, headers: await system.authorization('ops', Role.Admin) };
    const before = (await call(gw, 'GET', '/inventory/PROD001')).body;
    const placed = await call(me, 'POST', '/orders', { ...SEED_ORDER, customer_id: customer });
    const order = await settled(me, placed.body.id);
    expect(order.status).toBe('CANCELLED');
    const saga = (await call(admin, 'GET', `/sagas/${order.id}`)).body;
    expect(saga.saga.reason).toMatch(/declined|failed/i);
    expect(saga.steps.map((s: { action: string; result: string }) => `${s.action}:${s.result}`)).toEqual(
      expect.arrayContaining(['reserve-stock:ok', 'charge-payment:rejected', 'release-stock:ok']),
    );
    const after = (await call(gw, 'GET', '/inventory/PROD001')).body;
    expect(after).toMatchObject({
      available_quantity: before.available_quantity,
      reserved_quantity: 0,
      sold_quantity: before.sold_quantity,
    });
    const notes = await waitFor('the notification', async () => {
      const res = await call(me, 'GET', `/notifications?customer_id=${customer}`);
      return res.body.notifications.length > 0 && res.body.notifications;
    });
    expect(notes).toHaveLength(1);
    expect(notes[0].order_status).toBe('CANCELLED');
  });
});
