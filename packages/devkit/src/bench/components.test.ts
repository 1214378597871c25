import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceDefaults } from '@shopflow/platform/config';
import { NatsServer } from '../nats-server.js';
import { ServiceProcess } from '../supervisor.js';
import { freePort } from '../wait.js';
import { benchEventPath, benchPayment } from './components.js';

const LOAD = { concurrency: 4, durationS: 0.4, warmupS: 0.1 };
const quiet = () => undefined;

describe('the event path beside raw JetStream', () => {
  it('applies every event it enqueued exactly once and measures both sides', async () => {
    const violations: string[] = [];
    const r = await benchEventPath('sqlite', LOAD, quiet, violations);
    expect(violations).toEqual([]);
    expect(r.eventPath.ops).toBeGreaterThan(0);
    expect(r.rawPublish.ops).toBeGreaterThan(0);
    expect(r.applied).toBe(r.enqueued);
    expect(r.enqueued).toBeGreaterThanOrEqual(r.eventPath.ops);
    expect(r.ratio).toBeCloseTo(r.eventPath.rate / r.rawPublish.rate, 10);
  });
});

// Runs the built payment service (services/payment/dist): build first.
describe('the payment call beside bare grpc-js', () => {
  let nats: NatsServer;
  let payment: ServiceProcess;
  let dataDir: string;
  beforeAll(async () => {
    nats = await NatsServer.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-bench-payment-'));
    const port = await freePort();
    payment = new ServiceProcess({
      name: 'payment',
      port,
      env: {
        ...process.env,
        NATS_URL: nats.url,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        [ServiceDefaults.payment.portEnv]: String(port),
      },
      sink: quiet,
      restart: false,
    });
    payment.start();
    await payment.waitReady();
  });
  afterAll(async () => {
    await payment?.stop();
    await nats?.stop({ removeStore: true });
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('measures each call through both clients, and every call succeeds', async () => {
    const violations: string[] = [];
    const r = await benchPayment(`127.0.0.1:${payment.port}`, LOAD, quiet, violations);
    expect(violations).toEqual([]);
    for (const run of [r.clientProcessPayment, r.bareProcessPayment, r.clientGetPayment, r.bareGetPayment, r.bareHealthCheck]) {
      expect(run.ops).toBeGreaterThan(0);
      expect(run.errors).toBe(0);
    }
    expect(r.ratio).toBeCloseTo(r.clientProcessPayment.rate / r.bareProcessPayment.rate, 10);
  });

  it('fails when nothing answers', async () => {
    const violations: string[] = [];
    await expect(
      benchPayment(`127.0.0.1:${await freePort()}`, { ...LOAD, durationS: 0.2, warmupS: 0 }, quiet, violations),
    ).rejects.toThrow(/no payment was made/);
  });
});
