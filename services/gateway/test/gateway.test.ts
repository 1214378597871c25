import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InventoryApi, NotificationsApi, OrdersApi, Role, SagasApi } from '@shopflow/contracts/api';
import { createPaymentClient, type PaymentClient } from '@shopflow/payment-client';
import type { DevKey } from '@shopflow/platform/auth';
import type { TestService } from '@shopflow/devkit';
import { parseTraceparent } from '@shopflow/platform/tracing';
import type { GatewayApp, UpstreamUrls } from '../src/app.js';
import {
  PAYMENT,
  bearer,
  deadPort,
  startFake,
  startGateway,
  startPaymentServer,
  testKey,
  testSettings,
  type FakeUpstream,
} from './support.js';

function newTraceparent(): { header: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

describe('gateway in front of reachable services', () => {
  const fakes = {} as Record<keyof UpstreamUrls, FakeUpstream>;
  let paymentServer: Awaited<ReturnType<typeof startPaymentServer>>;
  let payments: PaymentClient;
  let gateway: { app: TestService<GatewayApp>; url: string };
  let key: DevKey;
  let admin: Record<string, string>;
  let customer: Record<string, string>;

  beforeAll(async () => {
    key = await testKey();
    admin = await bearer(key, 'ops-1', Role.Admin);
    customer = await bearer(key, PAYMENT.customerId);
    for (const name of ['order', 'inventory', 'notification', 'saga'] as const) fakes[name] = await startFake(name);
    paymentServer = await startPaymentServer();
    payments = createPaymentClient(paymentServer.address);
    gateway = await startGateway(
      key,
      { order: fakes.order.url, inventory: fakes.inventory.url, notification: fakes.notification.url, saga: fakes.saga.url },
      payments,
      { settings: testSettings({ upstreamTimeoutMs: 5000 }) },
    );
  });

  afterAll(async () => {
    await gateway?.app.stop();
    payments?.close();
    paymentServer?.stop();
    await Promise.all(Object.values(fakes).map((f) => f.close()));
  });

  beforeEach(() => {
    for (const [name, fake] of Object.entries(fakes)) {
      fake.received.length = 0;
      fake.answer = async (_request, reply) => reply.code(200).send({ upstream: name });
    }
    paymentServer.traceparents.length = 0;
  });

  it('forwards POST /orders with its query, exact body bytes, key and a child traceparent, and returns the answer untouched', async () => {
    // Spacing and `10.50` would not survive a parse and re-encode: the bytes must arrive as sent.
    const body = '{ "customer_id":"c1",  "product_id":"PROD001", "quantity":2, "amount":10.50 }';
    const order = { id: 'o-1', status: 'PENDING', amount: 10.5 };
    fakes.order.answer = async (_request, reply) =>
      reply.code(201).header('location', '/orders/o-1').header('idempotent-replayed', 'true').send(order);
    const trace = newTraceparent();

    const res = await fetch(`${gateway.url}/orders?source=test&x=1`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        accept: 'application/json',
        'idempotency-key': 'key-123',
        traceparent: trace.header,
        'x-internal-user': 'admin',
        ...customer,
      },
      body,
    });

    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/orders/o-1');
    expect(res.headers.get('idempotent-replayed')).toBe('true');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(order);

    expect(fakes.order.received).toHaveLength(1);
    const got = fakes.order.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/orders?source=test&x=1');
    expect(got.body).toBe(body);
    expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(got.headers.accept).toBe('application/json');
    expect(got.headers['idempotency-key']).toBe('key-123');
    expect(got.headers['x-internal-user']).toBeUndefined();
    const forwarded = parseTraceparent(got.headers.traceparent as string);
    expect(forwarded?.traceId).toBe(trace.traceId);
    expect(forwarded?.spanId).not.toBe(trace.spanId);
  });

  it('does not validate business fields: a malformed body reaches the service, and its problem comes back as is', async () => {
    const body = '{"customer_id": "c1", "quantity": -3,';
    const upstreamProblem = {
      type: 'urn:shopflow:problem:validation',
      title: 'Bad Request',
      status: 400,
      detail: 'body is not valid JSON',
    };
    fakes.order.answer = async (_request, reply) => reply.code(400).type('application/problem+json').send(upstreamProblem);

    const res = await fetch(`${gateway.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...customer },
      body,
    });

    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual(upstreamProblem);
    expect(fakes.order.received.map((r) => r.body)).toEqual([body]);
  });

  it('returns an upstream 503 at once instead of retrying it', async () => {
    fakes.inventory.answer = async (_request, reply) =>
      reply
        .code(503)
        .type('application/problem+json')
        .send({ type: 'urn:shopflow:problem:unavailable', title: 'Service Unavailable', status: 503 });

    const res = await fetch(`${gateway.url}/inventory/PROD001`);

    expect(res.status).toBe(503);
    expect(fakes.inventory.received).toHaveLength(1);
  });

  it.each([
    ['GET', '/orders?customer_id=c1&limit=5', 'order', undefined],
    ['GET', '/orders/o-42', 'order', undefined],
    ['POST', '/orders/o-42/status', 'order', '"CONFIRMED"'],
    ['GET', '/inventory/PROD001', 'inventory', undefined],
    ['PUT', '/inventory/PROD009', 'inventory', '{"product_name":"Gadget","available_quantity":7}'],
    ['POST', '/inventory/PROD001/reserve', 'inventory', '5'],
    ['GET', '/notifications?customer_id=c1', 'notification', undefined],
    ['GET', '/notifications/n-7', 'notification', undefined],
    ['GET', '/sagas', 'saga', undefined],
    ['GET', '/sagas/o-42', 'saga', undefined],
    ['POST', '/sagas/o-42/retry', 'saga', '{}'],
  ] as const)('routes %s %s to %s', async (method, path, owner, body) => {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: body === undefined ? admin : { 'content-type': 'application/json', ...admin },
      ...(body === undefined ? {} : { body }),
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ upstream: owner });
    for (const [name, fake] of Object.entries(fakes)) {
      const expected = name === owner ? [{ method, url: path, body: body ?? '' }] : [];
      expect(fake.received.map((r) => ({ method: r.method, url: r.url, body: r.body }))).toEqual(expected);
    }
  });

  it.each([
    ['POST', '/reservations'],
    ['GET', '/reservations/r-1'],
    ['POST', '/reservations/r-1/commit'],
    ['DELETE', '/orders/o-1'],
    ['GET', '/sagas/o-1/steps'],
  ])('does not route %s %s', async (method, path) => {
    const res = await fetch(`${gateway.url}${path}`, { method });

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { type: string }).type).toBe('urn:shopflow:problem:not-found');
    for (const fake of Object.values(fakes)) expect(fake.received).toEqual([]);
  });

  it('rejects a body over the limit before it reaches a service', async () => {
    const res = await fetch(`${gateway.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...customer },
      body: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }),
    });

    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(fakes.order.received).toEqual([]);
  });

  it('answers GET /payments/:id from the payment service over gRPC, in snake_case, with the trace context', async () => {
    const trace = newTraceparent();

    const res = await fetch(`${gateway.url}/payments/${PAYMENT.id}`, { headers: { traceparent: trace.header, ...customer } });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      id: 'pay-1',
      order_id: 'ord-1',
      customer_id: 'cust-1',
      amount: 25.5,
      status: 'SUCCESS',
      created_at: '2025-01-02T03:04:05.000Z',
      updated_at: '2025-01-02T03:04:06.000Z',
    });
    expect(paymentServer.traceparents).toHaveLength(1);
    expect(parseTraceparent(paymentServer.traceparents[0])?.traceId).toBe(trace.traceId);
  });

  it('answers an unknown payment with a 404 problem', async () => {
    const res = await fetch(`${gateway.url}/payments/pay-unknown`, { headers: customer });

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      type: 'urn:shopflow:problem:not-found',
      status: 404,
      detail: 'payment pay-unknown not found',
    });
  });

  it('is ready and reports every upstream as reachable', async () => {
    const res = await fetch(`${gateway.url}/ready`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      service: 'gateway',
      checks: { order: 'ok', inventory: 'ok', notification: 'ok', saga: 'ok', payment: 'ok' },
    });
  });

  it('documents the proxied and payment routes in /openapi.json, but not the internal ones', async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };

    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/orders',
        '/orders/{order_id}',
        '/inventory/{product_id}/reserve',
        '/notifications',
        '/payments/{payment_id}',
      ]),
    );
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/reservations'))).toBe(false);
  });

  it("documents each proxied route with the owning service's contract", async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary: string; parameters?: { in: string; name: string }[] }>>;
    };
    const routes = [OrdersApi, InventoryApi, NotificationsApi, SagasApi].flatMap((api) => Object.values(api.routes));
    const proxied = routes.filter((r) => r !== SagasApi.routes.retry);

    for (const route of proxied) {
      const documented = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(documented?.summary, `${route.method} ${route.url}`).toBe(route.schema.summary);
    }
    expect(doc.paths['/sagas/{order_id}/{*}']?.post?.summary).toBe('Act on a saga');
    expect(doc.paths['/orders']?.get?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual([
      'query:customer_id',
      'query:status',
      'query:limit',
      'query:cursor',
    ]);
  });

  it('leaves validation to the owning service: a request its contract refuses still reaches it', async () => {
    const longId = 'o'.repeat(100);
    const badBody = JSON.stringify({ customer_id: 'c1', unknown: true });

    const get = await fetch(`${gateway.url}/orders/${longId}`, { headers: customer });
    const post = await fetch(`${gateway.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...customer },
      body: badBody,
    });

    expect([get.status, post.status]).toEqual([200, 200]);
    expect(fakes.order.received.map((r) => ({ method: r.method, url: r.url, body: r.body }))).toEqual([
      { method: 'GET', url: `/orders/${longId}`, body: '' },
      { method: 'POST', url: '/orders', body: badBody },
    ]);
  });
});

describe('gateway in front of services that are down or slow', () => {
  const TIMEOUT_MS = 300;
  let slow: FakeUpstream;
  let release: () => void = () => undefined;
  let payments: PaymentClient;
  let gateway: { app: TestService<GatewayApp>; url: string };
  let admin: Record<string, string>;

  beforeAll(async () => {
    const key = await testKey();
    admin = await bearer(key, 'ops-1', Role.Admin);
    slow = await startFake('order');
    const held = new Promise<void>((resolve) => (release = resolve));
    slow.answer = async (_request, reply) => {
      await held;
      return reply.code(200).send({ late: true });
    };
    const dead = `http://127.0.0.1:${await deadPort()}`;
    payments = createPaymentClient(`127.0.0.1:${await deadPort()}`);
    gateway = await startGateway(key, { order: slow.url, inventory: dead, notification: dead, saga: dead }, payments, {
      settings: testSettings({ upstreamTimeoutMs: TIMEOUT_MS }),
    });
  });

  afterAll(async () => {
    release();
    await gateway?.app.stop();
    payments?.close();
    await slow?.close();
  });

  it('answers 503 problem+json without internals when a service cannot be reached', async () => {
    const res = await fetch(`${gateway.url}/inventory/PROD001/reserve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: '1',
    });

    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      type: 'urn:shopflow:problem:unavailable',
      title: 'Service Unavailable',
      status: 503,
      instance: '/inventory/PROD001/reserve',
    });
    expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|at /);
  });

  it('answers 504 problem+json when a service does not answer within the timeout', async () => {
    const started = Date.now();

    const res = await fetch(`${gateway.url}/orders/o-1`, { headers: admin });

    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'urn:shopflow:problem:deadline-exceeded', status: 504 });
    expect(slow.received.map((r) => r.url)).toEqual(['/orders/o-1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('answers GET /payments/:id with a 503 problem when the payment service is down', async () => {
    const res = await fetch(`${gateway.url}/payments/${PAYMENT.id}`, { headers: admin });

    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { type: string; detail?: string };
    expect(body.type).toBe('urn:shopflow:problem:unavailable');
    expect(body.detail).toBeUndefined();
  });

  it('stays ready and names the unreachable upstreams', async () => {
    const res = await fetch(`${gateway.url}/ready`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      service: 'gateway',
      checks: { order: 'ok', inventory: 'unreachable', notification: 'unreachable', saga: 'unreachable', payment: 'unreachable' },
    });
  });
});
