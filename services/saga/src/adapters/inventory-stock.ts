import {
  ReservationBatchResponse,
  type ReservationBatchRequest,
  type ReservationOperation,
  type ReservationRejectionCode,
  type ReservationResult,
} from '@shopflow/contracts';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { createBatcher } from '@shopflow/platform/batcher';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { HttpClient } from '@shopflow/platform/http';
import type { SagaOrder, StepResult, StockPort } from '../domain/ports.js';

const batchResponse = TypeCompiler.Compile(ReservationBatchResponse);

/**
 * What one call makes of its typed answer: the success detail, and which refusals are the "no" its
 * port method promises. Any other refusal is unexpected, so it is a fault that retrying cannot heal.
 */
function answer(op: ReservationOperation['op'], okDetail: string, refusals: readonly ReservationRejectionCode[]) {
  return (result: ReservationResult): StepResult => {
    switch (result.outcome) {
      case 'ok':
        return { kind: 'ok', detail: okDetail };
      case 'rejected':
        if (refusals.includes(result.code)) return { kind: 'rejected', nonRetryable: true, reason: result.detail };
        throw new AppError(ErrorCode.InvalidArgument, `inventory ${op} refused (${result.code}): ${result.detail}`);
      case 'error':
        throw new AppError(ErrorCode.Unavailable, `inventory ${op} failed: ${result.detail}`);
    }
  };
}

const onReserve = (order: SagaOrder) =>
  answer('reserve', `reserved ${order.quantity} × ${order.productId}`, [
    'insufficient-stock',
    'not-found',
    'released',
    'conflict',
  ]);
const onCommit = answer('commit', 'stock committed', ['conflict']);
// A release is refused only when the stock was sold; the saga's table says what follows.
const onRelease = answer('release', 'stock released', ['conflict']);
// Nothing sold to give back: no reservation, or one that was never committed.
const onReturn = answer('return', 'stock returned', ['conflict', 'not-found']);

/**
 * The inventory service's reservation API over HTTP. Calls made by many sagas in the same moment
 * travel together in one `POST /reservations/batch`; each gets its own typed outcome.
 */
export function createInventoryStock(inventory: HttpClient, timeoutMs: number): StockPort {
  const call = createBatcher<ReservationOperation, ReservationResult>(async (operations) => {
    const body: ReservationBatchRequest = { operations };
    const res = await inventory.request<unknown>({ method: 'POST', path: '/reservations/batch', body, timeoutMs });
    if (res.status !== 200) {
      // 5xx may heal; any other status will not.
      const code = res.status >= 500 ? ErrorCode.Unavailable : ErrorCode.InvalidArgument;
      throw new AppError(code, `inventory batch answered ${res.status}`);
    }
    if (!batchResponse.Check(res.body) || res.body.results.length !== operations.length) {
      // Most likely an inventory of another version mid-deploy: worth retrying.
      throw new AppError(ErrorCode.Unavailable, 'inventory batch answered in an unexpected shape');
    }
    return res.body.results.map((value) => ({ ok: true as const, value }));
  });

  return {
    async reserve(order) {
      const op = { op: 'reserve', order_id: order.orderId, product_id: order.productId, quantity: order.quantity } as const;
      return onReserve(order)(await call(op));
    },
    commit: async (order) => onCommit(await call({ op: 'commit', order_id: order.orderId })),
    release: async (order) => onRelease(await call({ op: 'release', order_id: order.orderId })),
    return: async (order) => onReturn(await call({ op: 'return', order_id: order.orderId })),
  };
}
