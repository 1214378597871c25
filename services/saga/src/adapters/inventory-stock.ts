import { createBatcher } from '@shopflow/platform/batcher';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { HttpClient, HttpResponse } from '@shopflow/platform/http';
import type { StepResult, StockPort } from '../domain/ports.js';

interface ProblemBody {
  type?: string;
  detail?: string;
}

/** One call of the inventory's reservation API, as `POST /reservations/batch` takes it. */
type Operation =
  | { op: 'reserve'; order_id: string; product_id: string; quantity: number }
  | { op: 'commit' | 'release' | 'return'; order_id: string };

const ok = (detail: string): StepResult => ({ kind: 'ok', detail });
const rejected = (reason: string): StepResult => ({ kind: 'rejected', nonRetryable: true, reason });

/** An answer nobody planned for: 5xx may heal (transient), any other status will not. */
function unexpected(action: string, res: HttpResponse<unknown>): AppError {
  const detail = (res.body as ProblemBody | undefined)?.detail ?? '';
  return new AppError(
    res.status >= 500 ? ErrorCode.Unavailable : ErrorCode.InvalidArgument,
    `inventory ${action} answered ${res.status}${detail ? `: ${detail}` : ''}`,
  );
}

/**
 * The inventory service's reservation API over HTTP. Calls made by many sagas in the same moment
 * travel together in one `POST /reservations/batch`; each still gets the answer its own call would.
 */
export function createInventoryStock(inventory: HttpClient, timeoutMs: number): StockPort {
  const call = createBatcher<Operation, HttpResponse<ProblemBody | undefined>>(async (operations) => {
    const res = await inventory.request<{ results: HttpResponse<ProblemBody>[] }>({
      method: 'POST',
      path: '/reservations/batch',
      body: { operations },
      timeoutMs,
    });
    if (res.status !== 200) throw unexpected('batch', res);
    return res.body.results.map((value) => ({ ok: true as const, value }));
  });

  return {
    async reserve(saga) {
      const res = await call({ op: 'reserve', order_id: saga.orderId, product_id: saga.productId, quantity: saga.quantity });
      if (res.status === 200 || res.status === 201) return ok(`reserved ${saga.quantity} × ${saga.productId}`);
      if (res.status === 409 || res.status === 404) return rejected(res.body?.detail ?? 'stock cannot be reserved');
      throw unexpected('reserve', res);
    },
    async commit(saga) {
      const res = await call({ op: 'commit', order_id: saga.orderId });
      if (res.status === 200) return ok('stock committed');
      if (res.status === 409) return rejected(res.body?.detail ?? 'reservation cannot be committed');
      throw unexpected('commit', res);
    },
    async release(saga) {
      const res = await call({ op: 'release', order_id: saga.orderId });
      if (res.status === 200) return ok('stock released');
      if (res.status === 409) {
        // Already committed (sold): give the stock back instead.
        const back = await call({ op: 'return', order_id: saga.orderId });
        if (back.status === 200) return ok('stock returned');
        throw unexpected('return', back);
      }
      throw unexpected('release', res);
    },
  };
}
