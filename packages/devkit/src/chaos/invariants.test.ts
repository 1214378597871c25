import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Messaging } from '@shopflow/platform/messaging';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemDatabases, checkInvariants, deadLetterReasons, violationKinds } from './invariants.js';

// Only the columns the checker reads; no dead-letter stream at all.
const SCHEMA = {
  order: [
    'CREATE TABLE orders (id TEXT, status TEXT, product_id TEXT, quantity INTEGER, amount_minor INTEGER)',
    'CREATE TABLE outbox (id TEXT)',
  ],
  payment: ['CREATE TABLE payments (order_id TEXT, status TEXT, amount_minor INTEGER)', 'CREATE TABLE outbox (id TEXT)'],
  inventory: [
    'CREATE TABLE products (product_id TEXT, available INTEGER, reserved INTEGER, sold INTEGER)',
    'CREATE TABLE reservations (order_id TEXT, product_id TEXT, quantity INTEGER, status TEXT)',
  ],
  notification: ['CREATE TABLE notifications (order_id TEXT, order_status TEXT)'],
  saga: ['CREATE TABLE sagas (order_id TEXT, state TEXT, parked INTEGER, reason TEXT)', 'CREATE TABLE outbox (id TEXT)'],
};
const messaging = { jsm: { streams: { info: () => Promise.reject(new Error('no stream')) } } } as unknown as Messaging;
const stock = new Map([['P1', 10]]);

describe('checkInvariants', () => {
  let dir: string;
  let dbs: SystemDatabases;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-invariants-test-'));
    const url = (s: string) => `sqlite:${path.join(dir, `${s}.db`)}`;
    dbs = await SystemDatabases.open({
      order: url('order'),
      payment: url('payment'),
      inventory: url('inventory'),
      notification: url('notification'),
      saga: url('saga'),
    });
    for (const [service, statements] of Object.entries(SCHEMA))
      for (const sql of statements) await dbs.get(service as keyof typeof SCHEMA).execute(sql);
    // One order completed, one cancelled for a declined payment: every invariant holds.
    await run('order', "INSERT INTO orders VALUES ('o1', 'COMPLETED', 'P1', 2, 500), ('o2', 'CANCELLED', 'P1', 1, 250)");
    await run('payment', "INSERT INTO payments VALUES ('o1', 'SUCCESS', 500), ('o2', 'FAILED', 250)");
    await run('inventory', "INSERT INTO products VALUES ('P1', 8, 0, 2)");
    await run('inventory', "INSERT INTO reservations VALUES ('o1', 'P1', 2, 'COMMITTED'), ('o2', 'P1', 1, 'RELEASED')");
    await run('notification', "INSERT INTO notifications VALUES ('o1', 'COMPLETED'), ('o2', 'CANCELLED')");
    await run('saga', "INSERT INTO sagas VALUES ('o1', 'COMPLETED', 0, NULL), ('o2', 'CANCELLED', 0, NULL)");
  });
  afterEach(async () => {
    await dbs.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (service: keyof typeof SCHEMA, sql: string) => dbs.get(service).execute(sql);
  const check = async () => (await checkInvariants(dbs, messaging, new Map(), stock)).violations;

  it('finds nothing wrong with a consistent system and counts its orders', async () => {
    const { violations, counts } = await checkInvariants(dbs, messaging, new Map(), stock);
    expect(violations).toEqual([]);
    expect(counts).toEqual({ orders: 2, completed: 1, cancelled: 1, failed: 0, notTerminal: 0 });
  });

  it('finds a saga for an order the order service does not know', async () => {
    await run('saga', "INSERT INTO sagas VALUES ('ghost', 'CANCELLED', 0, NULL)");
    expect(await check()).toEqual(['saga for unknown order ghost']);
  });

  it('finds stock held for an order the order service does not know', async () => {
    await run('inventory', "INSERT INTO reservations VALUES ('ghost', 'P1', 1, 'RESERVED')");
    await run('inventory', "UPDATE products SET available = 7, reserved = 1 WHERE product_id = 'P1'");
    expect(await check()).toEqual(['RESERVED reservation for unknown order ghost']);
  });

  it('finds an order that never ended', async () => {
    await run('order', "UPDATE orders SET status = 'PAYMENT_PROCESSING' WHERE id = 'o2'");
    expect(await check()).toContain('order o2 is stuck in PAYMENT_PROCESSING');
  });
});

describe('deadLetterReasons', () => {
  it('groups the dead letters by consumer and reason, most frequent first', async () => {
    const letter = (consumer: string, reason: string) => ({
      header: new Map([
        ['Shopflow-Dlq-Consumer', consumer],
        ['Shopflow-Dlq-Subject', 'orders.created'],
        ['Shopflow-Dlq-Reason', reason],
      ]),
      string: () => '{}',
    });
    const stored = [
      letter('saga-orders-created', 'failed 10 deliveries: connect ECONNREFUSED'),
      letter('notification-orders-created', 'payload is not JSON'),
      letter('saga-orders-created', 'failed 10 deliveries: connect ECONNREFUSED'),
    ];
    const withLetters = {
      jsm: {
        streams: {
          info: () => Promise.resolve({ state: { messages: 3, first_seq: 1, last_seq: 3 } }),
          getMessage: (_: string, { seq }: { seq: number }) => Promise.resolve({ seq, ...stored[seq - 1]! }),
        },
      },
    } as unknown as Messaging;
    expect(await deadLetterReasons(withLetters)).toEqual([
      '2× saga-orders-created (orders.created): failed 10 deliveries: connect ECONNREFUSED',
      '1× notification-orders-created (orders.created): payload is not JSON',
    ]);
  });
});

describe('violationKinds', () => {
  it('counts the violations that differ only in their order id, and keeps the others as they are', () => {
    const a = '7d1eec4c-5e48-4b14-9b72-e86a190a2ba5';
    const b = 'bf0e9d2a-06b8-4bbd-a061-912c8fc96e7f';
    expect(
      violationKinds([
        'order was not ready within 20000 ms',
        `order ${a} (COMPLETED) has 0 notifications`,
        `order ${a} is stuck in PENDING`,
        `order ${b} (COMPLETED) has 0 notifications`,
      ]),
    ).toEqual([
      'order was not ready within 20000 ms',
      '2× order <id> (COMPLETED) has 0 notifications',
      `order ${a} is stuck in PENDING`,
    ]);
  });
});
