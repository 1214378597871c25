import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer, startTestService, type TestService } from '@shopflow/devkit';
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
      { ...sagaService, build: (ctx) => createSagaApp(ctx, { stock, payments, policy, concurrency: 1 }) },
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
      expect(await sagaRepository.insert(saga.db!, stored)).toBe(true);
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
});
