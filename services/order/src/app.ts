import { pruneOlderThan } from '@shopflow/platform/db';
import { scheduleHourly, type ServiceContext, type ServiceApp } from '@shopflow/platform/service';
import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import { createAdmission } from './admission.js';
import type { ProductCatalog } from './domain/ports.js';
import { createOrders, type Orders } from './orders.js';
import { orderRoutes } from './routes/orders.js';

/** The adapters main wires to real services; tests pass their own. */
export interface OrderAdapters {
  catalog: ProductCatalog;
  /** How long an Idempotency-Key is remembered (at least; pruning runs hourly). Default 24 h. */
  idempotencyKeyTtlMs?: number;
  /** Unsettled orders past which POST /orders answers 503 (ORDER_BACKLOG_LIMIT); 0 takes everything. */
  backlogLimit?: number;
  /** How long a taken order should wait to settle: the bound follows the settle rate (ORDER_BACKLOG_TARGET_MS; 0: fixed). */
  backlogTargetMs?: number;
}

export interface OrderApp extends ServiceApp {
  http: HttpServer;
  orders: Orders;
}

/** Wires the order service's use cases and routes; `service.ts` runs it, tests swap the catalog. */
export async function createOrderApp(
  { logger, db, outbox, checks, metrics }: Pick<ServiceContext, 'logger' | 'db' | 'outbox' | 'checks' | 'metrics'>,
  { catalog, idempotencyKeyTtlMs = 24 * 3600_000, backlogLimit = 0, backlogTargetMs = 0 }: OrderAdapters,
): Promise<OrderApp> {
  const admission = createAdmission(db, metrics, { maxBacklog: backlogLimit, targetMs: backlogTargetMs });
  const orders = createOrders({ db, outbox, catalog, admission });
  const http = await createHttpServer({ service: 'order', logger, checks, metrics });
  orderRoutes(http, orders);
  let stopPruning: (() => void) | undefined;
  return {
    http,
    serves: httpListener(http),
    orders,
    start() {
      stopPruning = scheduleHourly('idempotency keys', logger, () =>
        pruneOlderThan(db, 'customer_idempotency_keys', 'created_at', new Date(Date.now() - idempotencyKeyTtlMs).toISOString()),
      );
      return Promise.resolve();
    },
    stop() {
      stopPruning?.();
      return Promise.resolve();
    },
  };
}
