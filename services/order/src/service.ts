import { SERVICE_EVENTS, Subject } from '@shopflow/contracts';
import { envInt } from '@shopflow/platform/config';
import { serviceUrl } from '@shopflow/platform/discovery';
import { createHttpClient } from '@shopflow/platform/http';
import { defineService } from '@shopflow/platform/service';
import { createInventoryCatalog } from './adapters/inventory-catalog.js';
import { createOrderApp } from './app.js';
import { migrations } from './db/migrations.js';

/** The order service: orders and their events; it applies the saga's status commands. */
export const orderService = defineService({
  name: 'order',
  migrations,
  publishes: SERVICE_EVENTS.order.publishes,
  async build(ctx) {
    const inventory = createHttpClient(serviceUrl('inventory'));
    ctx.defer('inventory client', () => inventory.close());
    return createOrderApp(ctx, {
      catalog: createInventoryCatalog(inventory),
      idempotencyKeyTtlMs: envInt('IDEMPOTENCY_KEY_TTL_HOURS', 24, { min: 1 }) * 3600_000,
      backlogLimit: envInt('ORDER_BACKLOG_LIMIT', 1000, { min: 0 }),
      // Off by default: see the README (Overload) for what the bench showed of the adaptive bound.
      backlogTargetMs: envInt('ORDER_BACKLOG_TARGET_MS', 0, { min: 0 }),
    });
  },
  consumes: {
    [Subject.OrderStatusCommand]: (app, tx, command) => app.orders.applySagaCommand(tx, command),
  },
});
