import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InventoryApi, NotificationsApi, OrdersApi, SagasApi } from '@shopflow/contracts/api';
import { PaymentServiceService, type Payment, type PaymentServiceServer } from '@shopflow/contracts/payment-grpc';
import { createPaymentClient, type PaymentClient } from '@shopflow/payment-client';
import { grpc } from '@shopflow/platform/grpc';
import { startTestService, type TestService } from '@shopflow/devkit';
import { parseTraceparent } from '@shopflow/platform/tracing';
import { createGatewayApp, type GatewayApp, type UpstreamUrls } from '../src/app.js';
import { gatewayService } from '../src/service.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A stand-in for one HTTP service: records every request (but /health) and answers as told (by default 200 with its name). */
interface FakeUpstream {
  url: string;
  received: Received[];
  answer: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  close(): Promise<void>;
}

async function startFake(name: string): Promise<FakeUpstream> {
  const app = Fastify();
  const fake: FakeUpstream = {
    url: '',
    received: [],
    answer: async (_request, reply) => reply.code(200).send({ upstream: name }),
    close: () => app.close(),
  };
  // Keep the bytes exactly as they arrived, whatever the content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.get('/health', () => ({ status: 'ok' }));
  app.all('/*', async (request, reply) => {
    fake.received.push({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: (request.body as string | undefined) ?? '',
    });
    return fake.answer(request, reply);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  fake.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return fake;
}

const PAYMENT: Payment = {
  id: 'pay-1',
  orderId: 'ord-1',
  customerId: 'cust-1',
  amount: 25.5,
  status: 'SUCCESS',
  createdAt: '2025-01-02T03:04:05.000Z',
  updatedAt: '2025-01-02T03:04:06.000Z',
};

/** A real gRPC payment service that knows one payment and records the trace context it was sent. */
async function startPaymentServer(): Promise<{ address: string; traceparents: (string | undefined)[]; stop(): void }> {
  const traceparents: (string | undefined)[] = [];
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<never>) => callback({ code: grpc.status.UNIMPLEMENTED });
  const impl: PaymentServiceServer = {
    getPayment(call, callback) {
      traceparents.push(call.metadata.get('traceparent')[0]?.toString());
      if (call.request.paymentId === PAYMENT.id) return callback(null, PAYMENT);
      callback({ code: grpc.status.NOT_FOUND, details: `payment ${call.request.paymentId} not found` });
    },
    processPayment: unimplemented,
    refundPayment: unimplemented,
    getPaymentByOrder: unimplemented,
    processPayments: unimplemented,
  };
  const server = new grpc.Server();
  server.addService(PaymentServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, traceparents, stop: () => server.forceShutdown() };
}

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startGateway(
  upstreams: UpstreamUrls,
  payments: PaymentClient,
  timeoutMs: number,
): Promise<{ app: TestService<GatewayApp>; url: string }> {
  const app = await startTestService({
    ...gatewayService,
    build: (ctx) => createGatewayApp(ctx, { upstreams, payments, timeoutMs }),
  });
  return { app, url: app.address };
}

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

  beforeAll(async () => {
    for (const name of ['order', 'inventory', 'notification', 'saga'] as const) fakes[name] = await startFake(name);
    paymentServer = await startPaymentServer();
    payments = createPaymentClient(paymentServer.address);
    gateway = await startGateway(
      { order: fakes.order.url, inventory: fakes.inventory.url, notification: fakes.notification.url, saga: fakes.saga.url },
      payments,
      5000,
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

    const res = await fetch(`${gateway.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

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
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
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
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(70 * 1024) }),
    });

    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(fakes.order.received).toEqual([]);
  });

  it('answers GET /payments/:id from the payment service over gRPC, in snake_case, with the trace context', async () => {
    const trace = newTraceparent();

    const res = await fetch(`${gateway.url}/payments/${PAYMENT.id}`, { headers: { traceparent: trace.header } });

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
    const res = await fetch(`${gateway.url}/payments/pay-unknown`);

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

    const get = await fetch(`${gateway.url}/orders/${longId}`);
    const post = await fetch(`${gateway.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
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

  beforeAll(async () => {
    slow = await startFake('order');
    const held = new Promise<void>((resolve) => (release = resolve));
    slow.answer = async (_request, reply) => {
      await held;
      return reply.code(200).send({ late: true });
    };
    const dead = `http://127.0.0.1:${await deadPort()}`;
    payments = createPaymentClient(`127.0.0.1:${await deadPort()}`);
    gateway = await startGateway({ order: slow.url, inventory: dead, notification: dead, saga: dead }, payments, TIMEOUT_MS);
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
      headers: { 'content-type': 'application/json' },
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

    const res = await fetch(`${gateway.url}/orders/o-1`);

    expect(res.status).toBe(504);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'urn:shopflow:problem:deadline-exceeded', status: 504 });
    expect(slow.received.map((r) => r.url)).toEqual(['/orders/o-1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('answers GET /payments/:id with a 503 problem when the payment service is down', async () => {
    const res = await fetch(`${gateway.url}/payments/${PAYMENT.id}`);

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
