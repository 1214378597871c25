import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@shopflow/contracts/api';
import { TestSystem, findPostgresBin } from '@shopflow/devkit';
import { call, settled } from '../support.js';

describe.skipIf(!findPostgresBin())('the system on a PostgreSQL cluster of its own (as the chaos suite runs it)', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await TestSystem.start({ databases: 'postgres', ownPostgres: true, env: { PAYMENT_SUCCESS_RATE: '1' } });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('reaches its cluster through a switch per service, completes an order, and takes the cluster with it', async () => {
    const cluster = system.postgres!;
    for (const url of Object.values(system.databaseUrls)) {
      const port = Number(new URL(url).port);
      expect(port).not.toBe(5432);
      expect(port).not.toBe(cluster.port);
    }
    const ports = Object.values(system.databaseSwitches).map((p) => p.port);
    expect(new Set(ports).size).toBe(5);

    const admin = { url: system.gatewayUrl, headers: await system.authorization('ops', Role.Admin) };
    const customer = { url: system.gatewayUrl, headers: await system.authorization('C1') };
    const put = await call(admin, 'PUT', '/inventory/OWN-PG-1', { product_name: 'Own', available_quantity: 5 });
    expect(put.status).toBe(201);
    const created = await call(customer, 'POST', '/orders', {
      customer_id: 'C1',
      product_id: 'OWN-PG-1',
      quantity: 1,
      amount: 10,
    });
    expect(created.status).toBe(201);
    expect((await settled(customer, created.body.id)).status).toBe('COMPLETED');

    await system.stop();
    expect(fs.existsSync(cluster.baseDir)).toBe(false);
    expect(cluster.running).toBe(false);
  });
});
