import { OrderStatus } from '@shopflow/contracts';
import type { Db } from '@shopflow/platform/db';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { ServiceMetrics } from '@shopflow/platform/metrics';

/** Decides whether a new order may be taken: the backlog of orders not yet settled stays bounded. */
export interface Admission {
  /**
   * Throws a 503 (UNAVAILABLE, type `at-capacity`) when the backlog is at its limit; answers at
   * once. Otherwise returns what the caller calls when done, saying whether an order was placed.
   */
  admit(): (placed: boolean) => void;
  /** Orders not yet settled, as last counted plus those taken since. */
  unsettled(): number;
}

const UNSETTLED = [OrderStatus.Pending, OrderStatus.Confirmed, OrderStatus.PaymentProcessing];

/**
 * Admission by the number of unsettled orders in the database, which every instance of the
 * service shares. The count is refreshed in the background when it is older than `staleMs`; a
 * request never waits for it, so a refusal costs nothing and the limit may be overshot by what
 * arrives within one refresh. `limit` 0 admits everything.
 */
export function createAdmission(db: Db, limit: number, metrics: ServiceMetrics, { staleMs = 100 } = {}): Admission {
  // The backlog is what the database counted, plus orders committed since that count began, plus
  // those admitted and not committed yet. A count may see some of the latter two: it errs high.
  let counted = 0;
  let placedSince = 0;
  let inFlight = 0;
  let countedAt = 0;
  let counting: Promise<void> | undefined;
  const backlog = () => counted + placedSince + inFlight;
  const refused = metrics.counter('orders_refused_total', 'Orders refused with 503 because the backlog was at its limit');
  metrics.gaugeOf('orders_unsettled', 'Orders placed and not yet settled (the backlog admission bounds)', [], () => [
    [{}, backlog()],
  ]);
  metrics.gaugeOf('orders_backlog_limit', 'The backlog of unsettled orders past which POST /orders answers 503', [], () => [
    [{}, limit],
  ]);
  const sql = `SELECT COUNT(*) AS n FROM orders WHERE status IN (${UNSETTLED.map((_, i) => `$${i + 1}`).join(', ')})`;

  const refresh = () => {
    const before = placedSince;
    countedAt = Date.now();
    counting ??= db
      .query<{ n: number }>(sql, UNSETTLED)
      .then(
        ([row]) => {
          counted = Number(row?.n ?? 0);
          placedSince -= before;
        },
        // The database is away: placing fails and says so itself; the next request counts again.
        () => undefined,
      )
      .finally(() => {
        counting = undefined;
      });
  };

  return {
    admit() {
      if (limit <= 0) return () => undefined;
      if (counting === undefined && Date.now() - countedAt > staleMs) refresh();
      if (backlog() >= limit) {
        refused.inc();
        throw new AppError(
          ErrorCode.Unavailable,
          `at capacity: ${backlog()} orders are waiting to settle (limit ${limit}); try again shortly`,
          { type: 'at-capacity' },
        );
      }
      inFlight++;
      return (placed) => {
        inFlight--;
        if (placed) placedSince++;
      };
    },
    unsettled: backlog,
  };
}
