import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subject } from '@shopflow/contracts';
import { NatsServer, startTestService, waitFor, type TestService } from '@shopflow/devkit';
import { createSagaApp, type SagaApp } from '../src/app.js';
import { sagaRepository } from '../src/db/saga-repository.js';
import type { PaymentPort, StockPort } from '../src/domain/ports.js';
import { startSaga, type Saga } from '../src/domain/saga.js';
import { sagaService } from '../src/service.js';

// The list is what this test is about: no saga it writes is driven anywhere.
const down = () => Promise.reject(new Error('not in this test'));
const stock: StockPort = { reserve: down, commit: down, release: down, return: down };
const payments: PaymentPort = { charge: down, refund: down };
const policy = { stepTimeoutMs: 60_000, compensationTimeoutMs: 60_000, backoff: { baseMs: 60_000, maxMs: 60_000 } };

describe.each(['sqlite', 'postgres'] as const)('the saga list on %s', (dialect) => {
  let nats: NatsServer;
  let saga: TestService<SagaApp>;

  beforeAll(async () => {
    nats = await NatsServer.start();
    saga = await startTestService(
      { ...sagaService, build: (ctx) => createSagaApp(ctx, { stock, payments, policy, concurrency: 1, leaseMs: 3000 }) },
      { dialect, natsUrl: nats.url },
    );
  });
  afterAll(async () => {
    await saga?.stop();
    await nats?.stop({ removeStore: true });
  });

  const read = async (p: string) => {
    const res = await fetch(`${saga.address}${p}`);
    return { status: res.status, body: (await res.json()) as any };
  };

  it('walks every saga once, newest first, across pages and ties in created_at, with a parked filter', async () => {
    const t0 = Date.now();
    // Three sagas share each millisecond, so pages end inside a tie; every fourth is parked.
    const ids = Array.from({ length: 17 }, (_, i) => ({ id: `o-${i}-${randomUUID()}`, at: t0 + Math.floor(i / 3) }));
    for (const [i, { id, at }] of ids.entries()) {
      const s = startSaga({ orderId: id, customerId: 'c', productId: 'p', quantity: 1, amountMinor: 100 }, at);
      const stored: Saga =
        i % 4 === 0 ? { ...s, state: 'FAILED', action: 'release-stock', compensations: [], outcome: 'FAILED', parked: true } : s;
      expect(await sagaRepository.insert(saga.db!, stored, saga.app.runner.instanceId)).toBe(true);
    }
    async function walk(query: string): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await read(`/sagas?limit=4${query}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.sagas.map((s: { order_id: string }) => s.order_id));
        cursor = page.body.next_cursor;
      } while (cursor);
      return seen;
    }
    const newestFirst = [...ids].sort((a, b) => b.at - a.at || (b.id < a.id ? -1 : 1)).map((s) => s.id);
    expect(await walk('')).toEqual(newestFirst);
    const parked = ids.filter((_, i) => i % 4 === 0).map((s) => s.id);
    expect(await walk('&parked=true')).toEqual(newestFirst.filter((id) => parked.includes(id)));
  });

  it('answers a cursor of another list, or a tampered one, with 400', async () => {
    const foreign = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', 'x'])).toString('base64url');
    for (const cursor of [foreign, 'AAAA']) {
      const res = await read(`/sagas?cursor=${cursor}`);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'cursor', reason: 'is not a cursor this list answered with' }]);
    }
  });

  it("serves a saga's trace id, from the traceparent of the request that placed the order", async () => {
    const traced = startSaga(
      { orderId: `t-${randomUUID()}`, customerId: 'c', productId: 'p', quantity: 1, amountMinor: 100 },
      Date.now(),
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    );
    const untraced = startSaga({ ...traced, orderId: `u-${randomUUID()}` }, Date.now());
    for (const s of [traced, untraced]) expect(await sagaRepository.insert(saga.db!, s, saga.app.runner.instanceId)).toBe(true);
    expect((await read(`/sagas/${traced.orderId}`)).body.saga.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect((await read(`/sagas/${untraced.orderId}`)).body.saga.trace_id).toBeNull();
  });

  it('lists the dead letters and replays one on its subject, for operators only', async () => {
    // A payload that fails its schema is dead-lettered at once by the saga's own consumer.
    const poison = JSON.stringify({ event_type: 'OrderCreated', order_id: `p-${randomUUID()}` });
    await saga.messaging!.js.publish(Subject.OrderCreated, poison);
    const first = await waitFor('the poison event in the DLQ', async () => {
      const res = await read('/dlq');
      return res.body.dead_letters.find((l: { payload: string }) => l.payload === poison);
    });
    expect(first).toMatchObject({ subject: Subject.OrderCreated, consumer: 'saga-orders-created', reason: expect.any(String) });
    expect((await read('/dlq')).body.total).toBeGreaterThanOrEqual(1);

    const replay = (seq: number, headers: Record<string, string> = {}) =>
      fetch(`${saga.address}/dlq/${seq}/replay`, { method: 'POST', headers });
    const customer = await replay(first.seq, { 'x-shopflow-subject': 'c', 'x-shopflow-role': 'customer' });
    expect(customer.status).toBe(403);

    const replayed = await replay(first.seq);
    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toMatchObject({ seq: first.seq, payload: poison });
    // Published again, still poison: the consumer gives up on it again, under a new sequence.
    const second = await waitFor('the replayed event back in the DLQ', async () => {
      const res = await read('/dlq');
      return res.body.dead_letters.find((l: { payload: string; seq: number }) => l.payload === poison && l.seq !== first.seq);
    });
    expect(second.seq).toBeGreaterThan(first.seq);
    expect((await replay(first.seq)).status).toBe(404);
    expect((await read('/dlq?limit=x')).status).toBe(400);
  });
});
