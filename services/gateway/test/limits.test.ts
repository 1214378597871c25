import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import { createPaymentClient } from '@shopflow/payment-client';
import type { DevKey } from '@shopflow/platform/auth';
import { waitFor } from '@shopflow/devkit';
import { bearer, startFake, startGateway, testKey, testSettings, type FakeUpstream } from './support.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Sends raw bytes and resolves with everything the gateway answered until it closed the socket. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

async function startEdge(key: DevKey, fake: FakeUpstream, adapters: Parameters<typeof startGateway>[3] = {}) {
  const payments = createPaymentClient('127.0.0.1:1');
  const gateway = await startGateway(
    key,
    { order: fake.url, inventory: fake.url, notification: fake.url, saga: fake.url },
    payments,
    adapters,
  );
  return {
    ...gateway,
    port: Number(new URL(gateway.url).port),
    async stop() {
      await gateway.app.stop();
      payments.close();
    },
  };
}

describe.each(['memory', 'redis'] as const)('rate limit per principal, counts in %s', (store) => {
  let key: DevKey;
  let fake: FakeUpstream;
  let redis: Redis | undefined;
  let edge: Awaited<ReturnType<typeof startEdge>>;
  const prefix = `shopflow-test-${randomUUID()}:`;

  beforeAll(async () => {
    key = await testKey();
    fake = await startFake('order');
    redis = store === 'redis' ? new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
    // Two per second: four in a burst, in a window of two seconds.
    const rateLimit = { perSecond: 2, redisUrl: undefined, redisPrefix: prefix };
    edge = await startEdge(key, fake, { redis, settings: testSettings({ rateLimit }) });
  });
  afterAll(async () => {
    await edge?.stop();
    await redis?.quit();
    await fake?.close();
  });

  it('answers 429 with Retry-After past the burst, per principal, as problem+json', async () => {
    const alice = await bearer(key, `alice-${store}`);
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${edge.url}/orders/o-1`, { headers: alice });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    const bob = await fetch(`${edge.url}/orders/o-1`, { headers: await bearer(key, `bob-${store}`) });

    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await limited!.json()).toMatchObject({ type: 'urn:shopflow:problem:rate-limited', status: 429 });
    expect(bob.status).toBe(200);
    expect(fake.received).toHaveLength(5);
    // The counts are in Redis, under this test's own prefix.
    if (redis) expect(await redis.keys(`${prefix}*`)).toEqual(expect.arrayContaining([`${prefix}sub:alice-redis`]));
  });
});

describe('gateway paths, headers and connections', () => {
  let key: DevKey;
  let fake: FakeUpstream;
  let edge: Awaited<ReturnType<typeof startEdge>>;
  let admin: string;

  beforeAll(async () => {
    key = await testKey();
    admin = (await bearer(key, 'ops-1', Role.Admin)).authorization!;
    fake = await startFake('any');
    const connections = { headersMs: 300, requestMs: 1000, keepAliveMs: 1000, maxConnections: 20 };
    edge = await startEdge(key, fake, {
      settings: testSettings({ connections, rateLimit: { ...testSettings().rateLimit, perSecond: 0 } }),
    });
  });
  afterAll(async () => {
    await edge?.stop();
    await fake?.close();
  });
  beforeEach(() => {
    fake.received.length = 0;
    fake.answer = async (_request, reply) => reply.code(200).send({ ok: true });
  });

  const get = (target: string) =>
    rawRequest(edge.port, `GET ${target} HTTP/1.1\r\nHost: shop\r\nAuthorization: ${admin}\r\nConnection: close\r\n\r\n`);

  it.each([
    '/inventory/PROD001/..%2f..%2freservations/r-1',
    '/inventory/PROD001%2F..%2F..%2Freservations%2Fr-1',
    '/inventory/..\\reservations\\r-1',
    '/inventory/PROD001%5c..%5c..%5creservations',
    '/inventory/%2e%2e/reservations/r-1',
    '/inventory/%2E%2E/openapi.json',
    '/inventory/.%2e/openapi.json',
    '/inventory/PROD001/../../reservations/r-1',
    '/orders/./../reservations/r-1',
    '/orders/..',
    '//reservations/r-1',
    '/inventory//reservations',
    '/sagas/o-1/retry/../../../reservations',
    'http://127.0.0.1/reservations/r-1',
    '/reservations/r-1',
    '/reservations/batch',
    '/inventory/PROD001/reserve/..',
  ])('never lets %s reach a service', async (target) => {
    const answer = await get(target);

    expect(answer).toMatch(/^HTTP\/1\.1 (400|404) /);
    expect(answer).toMatch(/content-type: application\/problem\+json/i);
    expect(fake.received).toEqual([]);
  });

  it('forwards the routed path rebuilt from its parameters, with the query', async () => {
    const answer = await get('/orders/o%3A1%20x?limit=5&x=%2f..');

    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(fake.received.map((r) => r.url)).toEqual(['/orders/o%3A1%20x?limit=5&x=%2f..']);
  });

  it('sets X-Forwarded-For and -Proto itself, and strips hop-by-hop headers and those Connection names', async () => {
    fake.answer = async (_request, reply) =>
      reply.code(200).header('connection', 'keep-alive, x-hop').header('x-hop', 'secret').header('x-kept', 'yes').send({});

    const res = await fetch(`${edge.url}/orders/o-1`, {
      headers: { authorization: admin, 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
    });

    expect(res.status).toBe(200);
    expect(res.headers.get('x-hop')).toBeNull();
    expect(res.headers.get('x-kept')).toBe('yes');
    expect(fake.received[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(fake.received[0]?.headers['x-forwarded-proto']).toBe('http');
  });

  it('closes the connection of a client that never finishes its headers', async () => {
    const started = Date.now();
    // Deadline, not a sleep: the close must come well before this, or the test fails.
    const deadline = new Promise<string>((_, reject) =>
      setTimeout(() => reject(new Error('still open after 5 s')), 5000).unref(),
    );

    const answer = await Promise.race([rawRequest(edge.port, 'GET /health HTTP/1.1\r\nHost: shop\r\nX-Slow: 1\r\n'), deadline]);

    expect(answer).toMatch(/^(HTTP\/1\.1 408 |$)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('refuses a body over the limit with 413 before it reaches a service', async () => {
    const res = await fetch(`${edge.url}/inventory/P1`, {
      method: 'PUT',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: JSON.stringify({ product_name: 'x'.repeat(80 * 1024), available_quantity: 1 }),
    });

    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(fake.received).toEqual([]);
  });
});

describe('gateway upstream queue', () => {
  it('answers 503 with Retry-After at once when the queue for a busy service is full, and serves again after', async () => {
    const key = await testKey();
    const fake = await startFake('slow');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    fake.answer = async (_request, reply) => {
      arrived++;
      await held;
      return reply.code(200).send({ ok: true });
    };
    // One connection and a queue of one: a third request in flight has nowhere to wait.
    const edge = await startEdge(key, fake, {
      settings: testSettings({
        upstreamConnections: 1,
        upstreamQueue: 1,
        rateLimit: { ...testSettings().rateLimit, perSecond: 0 },
      }),
    });
    const headers = await bearer(key, 'ops-1', Role.Admin);
    const get = () => fetch(`${edge.url}/sagas`, { headers });
    try {
      const first = get();
      await waitFor('the first request to hold the connection', () => arrived === 1);
      const second = get();
      const saga = edge.app.app.upstreams.find((u) => u.name === 'saga')!;
      await waitFor('the second request to wait in the queue', () => saga.pool.stats.queued === 1);
      const started = Date.now();
      const third = await get();
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toBeTruthy();
      expect(Date.now() - started).toBeLessThan(1000);
      release();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      expect((await get()).status).toBe(200);
    } finally {
      release();
      await edge.stop();
      await fake.close();
    }
  });
});
