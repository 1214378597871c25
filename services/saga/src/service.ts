import { SERVICE_EVENTS, Subject } from '@shopflow/contracts';
import { envInt } from '@shopflow/platform/config';
import { serviceAddress, serviceUrl } from '@shopflow/platform/discovery';
import { createPaymentClient } from '@shopflow/payment-client';
import { createHttpClient } from '@shopflow/platform/http';
import { defineService } from '@shopflow/platform/service';
import { createInventoryStock } from './adapters/inventory-stock.js';
import { createPaymentGateway } from './adapters/payment-gateway.js';
import { createSagaApp } from './app.js';
import { migrations } from './db/migrations.js';

/** The saga orchestrator: drives each placed order through stock, payment and back. */
export const sagaService = defineService({
  name: 'saga',
  migrations,
  publishes: SERVICE_EVENTS.saga.publishes,
  async build(ctx) {
    // The orchestrator's own settings, read once here so a bad value stops start-up.
    const callTimeoutMs = envInt('SAGA_CALL_TIMEOUT_MS', 2000, { min: 50 });
    const policy = {
      stepTimeoutMs: envInt('SAGA_STEP_TIMEOUT_MS', 30_000, { min: 100 }),
      compensationTimeoutMs: envInt('SAGA_COMPENSATION_TIMEOUT_MS', 600_000, { min: 100 }),
      backoff: { baseMs: envInt('SAGA_RETRY_BASE_MS', 100, { min: 1 }), maxMs: envInt('SAGA_RETRY_MAX_MS', 5000, { min: 1 }) },
    };
    const concurrency = envInt('SAGA_CONCURRENCY', 256, { min: 1 });
    // A crashed instance's sagas wait this long (and up to a third more) for another to take them.
    const leaseMs = envInt('SAGA_LEASE_MS', 3000, { min: 300 });
    const inventory = createHttpClient(serviceUrl('inventory'), { timeoutMs: callTimeoutMs });
    ctx.defer('inventory client', () => inventory.close());
    const payments = createPaymentClient(serviceAddress('payment'), callTimeoutMs);
    ctx.defer('payment client', () => payments.close());
    return createSagaApp(ctx, {
      stock: createInventoryStock(inventory, callTimeoutMs),
      payments: createPaymentGateway(payments, callTimeoutMs),
      policy,
      concurrency,
      leaseMs,
    });
  },
  consumes: {
    [Subject.OrderCreated]: (app, tx, event) => app.sagas.onOrderCreated(tx, event),
    // An order ended through the API (not the saga's own outcome echoed back): undo what was done.
    [Subject.OrderEndedByApi]: (app, tx, event) => app.sagas.onOrderEndedByApi(tx, event),
  },
});
