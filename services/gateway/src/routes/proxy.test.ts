import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentClient, type PaymentClient } from '@shopflow/payment-client';
import { deadPort, startFake, startGateway, testKey, type FakeUpstream } from '../../test/support.js';

describe('the proxy in front of a service that is away', () => {
  let fake: FakeUpstream;
  let payments: PaymentClient;
  let gateway: Awaited<ReturnType<typeof startGateway>>;

  beforeAll(async () => {
    fake = await startFake('order');
    const dead = `http://127.0.0.1:${await deadPort()}`;
    payments = createPaymentClient('127.0.0.1:1');
    gateway = await startGateway(await testKey(), { order: fake.url, inventory: dead, notification: dead, saga: dead }, payments);
  });
  afterAll(async () => {
    await gateway?.app.stop();
    payments?.close();
    await fake?.close();
  });

  it('answers 503 with Retry-After, so that the client knows when to come back', async () => {
    const res = await fetch(`${gateway.url}/inventory/PROD001`);

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'urn:shopflow:problem:unavailable', status: 503 });
  });
});
