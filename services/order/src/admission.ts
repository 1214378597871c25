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
  /** The backlog allowed now. */
  limit(): number;
}

export interface AdmissionOptions {
  /** The hard bound on unsettled orders (ORDER_BACKLOG_LIMIT); 0 admits everything. */
  maxBacklog: number;
  /**
   * How long an admitted order should wait to settle (ORDER_BACKLOG_TARGET_MS): the bound follows
   * the measured settle rate times this, within [minBacklog, maxBacklog]. 0 keeps maxBacklog.
   */
  targetMs: number;
  /**
   * The bound never goes below this (500). A refused client waits a whole Retry-After second, so a
   * bound below what the system needs in flight at its own latency would starve it of work; on
   * PostgreSQL an order takes most of a second to settle even unloaded.
   */
  minBacklog?: number;
  /** How old a count may be before a request starts a new one. */
  staleMs?: number;
}

const UNSETTLED = [OrderStatus.Pending, OrderStatus.Confirmed, OrderStatus.PaymentProcessing];

/**
 * Admission by the number of unsettled orders in the database, which every instance shares.
 *
 * The count is refreshed in the background when older than `staleMs`; a request never waits for
 * it, so a refusal costs nothing and the bound may be overshot by what arrives within one
 * refresh. Between two counts it also learns how fast orders settle (what was there, plus what it
 * placed, minus what is left), and bounds the backlog at that rate times `targetMs` (Little's law):
 * an order it takes should settle within about `targetMs`, whatever the database manages.
 * Orders placed by other instances look like slower settling here, which errs on the safe side.
 */
export function createAdmission(db: Db, metrics: ServiceMetrics, options: AdmissionOptions): Admission {
  const { maxBacklog, targetMs, minBacklog = 500, staleMs = 100 } = options;
  // The backlog is what the database counted, plus orders committed since that count began, plus
  // those admitted and not committed yet. A count may see some of the latter two: it errs high.
  let counted = 0;
  let placedSince = 0;
  let inFlight = 0;
  let placedTotal = 0;
  let countedAt = 0;
  let counting: Promise<void> | undefined;
  let previous: { at: number; unsettled: number; placedTotal: number } | undefined;
  /** Orders settled per second, smoothed; undefined until two counts were made. */
  let settleRate: number | undefined;

  const backlog = () => counted + placedSince + inFlight;
  const limit = () => {
    if (maxBacklog <= 0) return Infinity;
    if (targetMs <= 0 || settleRate === undefined) return maxBacklog;
    return Math.round(Math.min(maxBacklog, Math.max(minBacklog, (settleRate * targetMs) / 1000)));
  };
  const refused = metrics.counter('orders_refused_total', 'Orders refused with 503 because the backlog was at its limit');
  metrics.gaugeOf('orders_unsettled', 'Orders placed and not yet settled (the backlog admission bounds)', [], () => [
    [{}, backlog()],
  ]);
  metrics.gaugeOf('orders_backlog_limit', 'The backlog of unsettled orders past which POST /orders answers 503', [], () => [
    [{}, limit()],
  ]);
  const sql = `SELECT COUNT(*) AS n FROM orders WHERE status IN (${UNSETTLED.map((_, i) => `$${i + 1}`).join(', ')})`;

  const learn = (at: number, unsettled: number, placed: number) => {
    // Only a short interval that began with a backlog to work on measures capacity; an idle one
    // measures demand, and would close the door on the next burst. It is left out.
    if (previous && at - previous.at <= 2000 && previous.unsettled >= minBacklog) {
      const settled = Math.max(0, previous.unsettled + (placed - previous.placedTotal) - unsettled);
      const rate = settled / (Math.max(1, at - previous.at) / 1000);
      // Smoothed over several counts, so that one slow interval (a pause) does not shut the door.
      settleRate = settleRate === undefined ? rate : 0.8 * settleRate + 0.2 * rate;
    }
    previous = { at, unsettled, placedTotal: placed };
  };

  const refresh = () => {
    const before = placedSince;
    const placedAtStart = placedTotal;
    countedAt = Date.now();
    const at = countedAt;
    counting ??= db
      .query<{ n: number }>(sql, UNSETTLED)
      .then(
        ([row]) => {
          counted = Number(row?.n ?? 0);
          placedSince -= before;
          learn(at, counted, placedAtStart);
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
      if (maxBacklog <= 0) return () => undefined;
      if (counting === undefined && Date.now() - countedAt > staleMs) refresh();
      if (backlog() >= limit()) {
        refused.inc();
        throw new AppError(
          ErrorCode.Unavailable,
          `at capacity: ${backlog()} orders are waiting to settle (limit ${limit()}); try again shortly`,
          { type: 'at-capacity', expected: true },
        );
      }
      inFlight++;
      return (placed) => {
        inFlight--;
        if (placed) {
          placedSince++;
          placedTotal++;
        }
      };
    },
    unsettled: backlog,
    limit,
  };
}
