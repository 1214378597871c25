import { describe, expect, it } from 'vitest';
import type { ReservationBatchRequest, ReservationResult } from '@shopflow/contracts';
import { isTransient } from '@shopflow/platform/errors';
import type { HttpClient, HttpResponse } from '@shopflow/platform/http';
import type { SagaOrder } from '../domain/ports.js';
import { createInventoryStock } from './inventory-stock.js';

const order: SagaOrder = { orderId: 'o1', customerId: 'c', productId: 'p', quantity: 2, amountMinor: 100, reason: null };
const reservation = { order_id: 'o1', product_id: 'p', quantity: 2, status: 'RESERVED' as const };

/** An inventory that answers every operation of a batch with `result`, or the whole batch with `whole`. */
function inventory(result: ReservationResult, whole?: HttpResponse<unknown>) {
  const sent: ReservationBatchRequest[] = [];
  const client: HttpClient = {
    request<T>(o: { body?: unknown }) {
      const body = o.body as ReservationBatchRequest;
      sent.push(body);
      return Promise.resolve((whole ?? { status: 200, body: { results: body.operations.map(() => result) } }) as HttpResponse<T>);
    },
    close: () => Promise.resolve(),
  };
  return { stock: createInventoryStock(client, 1000), sent };
}

const rejected = (code: 'insufficient-stock' | 'not-found' | 'released' | 'conflict'): ReservationResult => ({
  outcome: 'rejected',
  code,
  detail: `no: ${code}`,
});

describe('the inventory adapter', () => {
  it('sends the typed operation and reads an ok outcome', async () => {
    const { stock, sent } = inventory({ outcome: 'ok', created: true, reservation });
    expect(await stock.reserve(order)).toEqual({ kind: 'ok', detail: 'reserved 2 × p' });
    expect(await stock.return(order)).toEqual({ kind: 'ok', detail: 'stock returned' });
    expect(sent.flatMap((b) => b.operations)).toEqual([
      { op: 'reserve', order_id: 'o1', product_id: 'p', quantity: 2 },
      { op: 'return', order_id: 'o1' },
    ]);
  });

  it('passes on the refusals each port method promises, and no fallback call', async () => {
    const conflict = inventory(rejected('conflict'));
    const no = { kind: 'rejected', nonRetryable: true, reason: 'no: conflict' };
    expect(await conflict.stock.release(order)).toEqual(no);
    expect(await conflict.stock.commit(order)).toEqual(no);
    expect(await conflict.stock.return(order)).toEqual(no);
    expect(conflict.sent.flatMap((b) => b.operations.map((o) => o.op))).toEqual(['release', 'commit', 'return']);
    expect(await inventory(rejected('insufficient-stock')).stock.reserve(order)).toMatchObject({ kind: 'rejected' });
    expect(await inventory(rejected('not-found')).stock.return(order)).toMatchObject({ kind: 'rejected' });
  });

  it('turns an unpromised refusal into a fault retrying cannot heal, and an error into one it may', async () => {
    const missing = await inventory(rejected('not-found'))
      .stock.commit(order)
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Error);
    expect(isTransient(missing)).toBe(false);
    const failed = await inventory({ outcome: 'error', detail: 'INTERNAL' })
      .stock.release(order)
      .catch((e: unknown) => e);
    expect(isTransient(failed)).toBe(true);
  });

  it('retries an answer of the wrong shape or a 5xx, but not a 4xx', async () => {
    const ok: ReservationResult = { outcome: 'ok', created: false, reservation };
    const oldShape = inventory(ok, { status: 200, body: { results: [{ status: 200, body: reservation }] } });
    expect(isTransient(await oldShape.stock.commit(order).catch((e: unknown) => e))).toBe(true);
    expect(
      isTransient(
        await inventory(ok, { status: 503, body: {} })
          .stock.commit(order)
          .catch((e: unknown) => e),
      ),
    ).toBe(true);
    expect(
      isTransient(
        await inventory(ok, { status: 400, body: {} })
          .stock.commit(order)
          .catch((e: unknown) => e),
      ),
    ).toBe(false);
  });
});
