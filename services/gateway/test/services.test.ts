import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import type { DevKey } from '@shopflow/platform/auth';
import { NatsServer, createNatsUsers, waitFor } from '@shopflow/devkit';
import { createLogger } from '@shopflow/platform/logger';
import { connectMessaging, type Messaging } from '@shopflow/platform/messaging';
import { keepRegistered, natsRegistry, probeHealth, readyUrl, type KeptRegistration } from '@shopflow/platform/registry';
import { createPaymentClient } from '@shopflow/payment-client';
import { checkHealth } from '../src/dashboard/health.js';
import { bearer, startStage, testKey, type Stage } from './support.js';

const logger = createLogger('test', 'silent');

describe('GET /services on the gateway, from the NATS registry', () => {
  let nats: NatsServer;
  let key: DevKey;
  let stage: Stage;
  let noDiscovery: Stage;
  const opened: Messaging[] = [];
  const kept: KeptRegistration[] = [];
  let readyServer: http.Server;
  let reader: Messaging;

  beforeAll(async () => {
    const users = createNatsUsers();
    nats = await NatsServer.start({ users });
    key = await testKey();
    // One /ready that answers 200, one that answers 503.
    readyServer = http.createServer((req, res) => res.writeHead(req.url === '/ready' ? 200 : 503).end());
    await new Promise<void>((resolve) => readyServer.listen(0, '127.0.0.1', resolve));
    const port = (readyServer.address() as AddressInfo).port;
    for (const [service, id, httpPort] of [
      ['order', 'order-1', port],
      ['order', 'order-2', 1],
      ['saga', 'saga-1', port],
    ] as const) {
      const messaging = await connectMessaging(nats.url, id, logger, users.services[service]);
      opened.push(messaging);
      const self = { service, id, address: '127.0.0.1', port: 9000, httpPort, startedAt: new Date().toISOString() };
      const registration = keepRegistered(natsRegistry(messaging, { ttlMs: 6000 }), self, {
        intervalMs: 2000,
        health: () => probeHealth(readyUrl(self), 500),
        logger,
      });
      kept.push(registration);
      await registration.registered;
    }
    reader = await connectMessaging(nats.url, 'gateway', logger, users.services.gateway);
    opened.push(reader);
    stage = await startStage(key, { discovery: { mode: 'nats', registry: natsRegistry(reader, { ttlMs: 6000 }) } });
    noDiscovery = await startStage(key);
  });
  afterAll(async () => {
    await stage?.stop();
    await noDiscovery?.stop();
    for (const k of kept) await k.stop();
    for (const m of opened) await m.close();
    readyServer?.closeAllConnections();
    readyServer?.close();
    await nats?.stop({ removeStore: true });
  });

  it('lists every instance with its health, grouped by service, to an admin', async () => {
    const res = await fetch(`${stage.gateway.url}/services`, { headers: await bearer(key, 'ops-1', Role.Admin) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { discovery: string; services: Record<string, { id: string; health: string }[]> };
    expect(body.discovery).toBe('nats');
    const summary = Object.fromEntries(
      Object.entries(body.services).map(([service, instances]) => [service, instances.map((i) => `${i.id}/${i.health}`)]),
    );
    expect(summary).toEqual({ order: ['order-1/passing', 'order-2/critical'], saga: ['saga-1/passing'] });
  });

  it('answers 403 to a customer and 401 without a token', async () => {
    const customer = await fetch(`${stage.gateway.url}/services`, { headers: await bearer(key, 'cust-1') });
    expect(customer.status).toBe(403);
    expect(customer.headers.get('content-type')).toMatch(/problem\+json/);
    const anonymous = await fetch(`${stage.gateway.url}/services`);
    expect(anonymous.status).toBe(401);
  });

  it('answers 503 when discovery is off', async () => {
    const res = await fetch(`${noDiscovery.gateway.url}/services`, { headers: await bearer(key, 'ops-1', Role.Admin) });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it("gives the dashboard's health panel every instance discovery knows, in place of the probed one", async () => {
    const payments = createPaymentClient('127.0.0.1:1', 300);
    try {
      const report = await checkHealth(
        [],
        { client: payments, address: '127.0.0.1:1' },
        1000,
        natsRegistry(reader, { ttlMs: 6000 }),
      );
      const byName = Object.fromEntries(report.services.map((s) => [s.name, s.instances.map((i) => `${i.address} ${i.status}`)]));
      expect(byName).toEqual({
        gateway: ['this gateway ready'],
        order: ['127.0.0.1:9000 ready', '127.0.0.1:9000 not ready'],
        saga: ['127.0.0.1:9000 ready'],
        // Not registered: its own probe stays.
        payment: ['127.0.0.1:1 unreachable'],
      });
    } finally {
      payments.close();
    }
  });

  it('no longer lists an instance once it deregisters', async () => {
    await kept.pop()!.stop();
    await waitFor('saga-1 gone', async () => {
      const res = await fetch(`${stage.gateway.url}/services`, { headers: await bearer(key, 'ops-1', Role.Admin) });
      const body = (await res.json()) as { services: Record<string, unknown> };
      return body.services.saga === undefined;
    });
  });
});
