import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConsulDouble, NatsServer, createNatsUsers, startTestService, waitFor, type NatsUsers } from '@shopflow/devkit';
import { loadServiceConfig } from '@shopflow/platform/config';
import { createHttpServer, httpListener } from '@shopflow/platform/http';
import { defineService } from '@shopflow/platform/service';
import { createLogger } from '@shopflow/platform/logger';
import { connectMessaging, type Messaging } from '@shopflow/platform/messaging';
import {
  Health,
  consulRegistry,
  keepRegistered,
  natsRegistry,
  probeHealth,
  readyUrl,
  type KeptRegistration,
  type Registration,
  type Registry,
} from '@shopflow/platform/registry';

const logger = createLogger('test', 'silent');
const HEARTBEAT_MS = 200;

/** A real HTTP server whose /ready answers 200 or 503 as the test sets it. */
async function readyServer(): Promise<{ port: number; ready: boolean; close(): Promise<void> }> {
  const state = { port: 0, ready: true, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/ready' && state.ready ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

function registration(service: string, id: string, port: number): Registration {
  return { service, id, address: '127.0.0.1', port, httpPort: port, startedAt: new Date().toISOString() };
}

describe('the NATS registry (a JetStream key-value bucket), as the services use it', () => {
  let nats: NatsServer;
  let users: NatsUsers;
  const opened: Messaging[] = [];
  const kept: KeptRegistration[] = [];
  const servers: { close(): Promise<void> }[] = [];

  /** One instance: its own NATS connection as its service's user, a /ready, and a heartbeat. */
  async function instance(service: 'order' | 'inventory', id: string) {
    const messaging = await connectMessaging(nats.url, `test-${id}`, logger, users.services[service]);
    opened.push(messaging);
    const ready = await readyServer();
    servers.push(ready);
    const self = registration(service, id, ready.port);
    const registry = natsRegistry(messaging, { ttlMs: HEARTBEAT_MS * 3 });
    const keeping = keepRegistered(registry, self, {
      intervalMs: HEARTBEAT_MS,
      health: () => probeHealth(readyUrl(self), 500),
      logger,
    });
    kept.push(keeping);
    await keeping.registered;
    return { messaging, ready, registry, keeping };
  }

  beforeAll(async () => {
    users = createNatsUsers();
    nats = await NatsServer.start({ users });
  });
  afterEach(async () => {
    for (const k of kept.splice(0)) await k.stop().catch(() => undefined);
    for (const m of opened.splice(0)) await m.close();
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(async () => {
    await nats?.stop({ removeStore: true });
  });

  const summary = async (registry: Registry, service?: string) =>
    (await registry.list(service)).map((i) => `${i.service}/${i.id}/${i.health}`);

  it('lists two registered instances as passing; one stopped cleanly is gone at once', async () => {
    const a = await instance('order', 'order-a');
    const b = await instance('inventory', 'inventory-b');
    expect(await summary(a.registry)).toEqual(['inventory/inventory-b/passing', 'order/order-a/passing']);
    expect(await summary(b.registry, 'order')).toEqual(['order/order-a/passing']);
    const [listed] = await a.registry.list('inventory');
    expect(listed).toMatchObject({ address: '127.0.0.1', port: b.ready.port, httpPort: b.ready.port });
    expect(Date.parse(listed!.lastSeen!)).not.toBeNaN();

    await b.keeping.stop();
    // Deregistration deletes the key: the very next read misses it, no TTL involved.
    expect(await summary(a.registry)).toEqual(['order/order-a/passing']);
  });

  it('forgets an instance that stops heartbeating without deregistering, within the bucket TTL', async () => {
    const a = await instance('order', 'order-a');
    const dying = await instance('order', 'order-dead');
    expect(await summary(a.registry, 'order')).toEqual(['order/order-a/passing', 'order/order-dead/passing']);
    // As a killed process: its connection drops, nothing deletes its key.
    await dying.messaging.close();
    await waitFor('the dead instance to expire', async () => (await summary(a.registry, 'order')).length === 1, {
      timeoutMs: 10_000,
    });
    expect(await summary(a.registry, 'order')).toEqual(['order/order-a/passing']);
  });

  it('reports an instance whose /ready fails as critical, and passing again once it recovers', async () => {
    const a = await instance('order', 'order-a');
    a.ready.ready = false;
    await waitFor('critical', async () => (await summary(a.registry)).includes('order/order-a/critical'), { timeoutMs: 10_000 });
    expect(await a.registry.list('order', { passingOnly: true })).toEqual([]);
    a.ready.ready = true;
    await waitFor('passing', async () => (await summary(a.registry)).includes('order/order-a/passing'), { timeoutMs: 10_000 });
  });

  it('registers a service started by startService (NATS only for the registry), and deregisters it first on stop', async () => {
    const plain = defineService({
      name: 'inventory',
      async build(ctx) {
        return { serves: httpListener(await createHttpServer({ service: 'inventory', logger: ctx.logger, checks: ctx.checks })) };
      },
    });
    const discovery = { ...loadServiceConfig('inventory', {}).discovery, mode: 'nats' as const, heartbeatMs: HEARTBEAT_MS };
    const running = await startTestService(plain, {
      natsUrl: nats.url,
      config: { natsAuth: users.services.inventory, discovery },
    });
    const reader = await connectMessaging(nats.url, 'test-reader', logger, users.services.order);
    opened.push(reader);
    const registry = natsRegistry(reader, { ttlMs: HEARTBEAT_MS * 3 });
    const [listed] = await waitFor('the service registered', async () => {
      const found = await registry.list('inventory', { passingOnly: true });
      return found.length > 0 && found;
    });
    expect(running.address).toBe(`http://127.0.0.1:${listed!.port}`);
    expect(listed!.httpPort).toBe(listed!.port);
    await running.stop();
    expect(await registry.list('inventory')).toEqual([]);
  });

  it("refuses to let a service write another service's keys", async () => {
    const messaging = await connectMessaging(nats.url, 'test-forger', logger, users.services.inventory);
    opened.push(messaging);
    const forger = natsRegistry(messaging, { ttlMs: HEARTBEAT_MS * 3 });
    await expect(forger.register(registration('order', 'forged', 1), Health.Passing)).rejects.toThrow(/permission/i);
  });
});

describe('the Consul registry against the Consul double (no Consul server can run here)', () => {
  let consul: ConsulDouble;
  const servers: { close(): Promise<void> }[] = [];
  const registry = (interval = 100, deregisterAfter = 60_000) =>
    consulRegistry({ address: consul.address, checkIntervalMs: interval, deregisterCriticalAfterMs: deregisterAfter });

  beforeAll(async () => {
    consul = await ConsulDouble.start();
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await consul?.stop();
  });

  it('registers with an HTTP check on /ready, resolves ?passing without the failing one, deregisters', async () => {
    const [good, bad] = [await readyServer(), await readyServer()];
    servers.push(good, bad);
    bad.ready = false;
    const [one, two] = [registry(), registry()];
    await one.register(registration('order', 'order-1', good.port), Health.Passing);
    await two.register(registration('order', 'order-2', bad.port), Health.Passing);
    // The double runs the checks, as the agent does; a new check starts critical.
    await waitFor('order-1 passing', async () => (await one.list('order', { passingOnly: true })).length === 1, {
      timeoutMs: 10_000,
    });
    const all = await one.list();
    expect(all.map((i) => `${i.id}/${i.health}/${i.port}/${i.httpPort}`)).toEqual([
      `order-1/passing/${good.port}/${good.port}`,
      `order-2/critical/${bad.port}/${bad.port}`,
    ]);
    expect((await one.list('order', { passingOnly: true })).map((i) => i.id)).toEqual(['order-1']);
    expect(consul.requests).toContain('GET /v1/health/service/order');

    await two.deregister();
    expect((await one.list()).map((i) => i.id)).toEqual(['order-1']);
    expect(consul.requests).toContain('PUT /v1/agent/service/deregister/order-2');
    await one.deregister();
    expect(consul.registered()).toEqual([]);
  });

  it('drops an instance critical for longer than DeregisterCriticalServiceAfter', async () => {
    const dead = await readyServer();
    servers.push(dead);
    dead.ready = false;
    await registry(100, 1000).register(registration('payment', 'payment-1', dead.port), Health.Passing);
    expect(consul.registered()).toContain('payment-1');
    await waitFor('the critical instance to be reaped', () => !consul.registered().includes('payment-1'), { timeoutMs: 10_000 });
  });
});
